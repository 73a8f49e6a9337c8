/**
 * The pg client settings for a Materialize URL, read with libpq's meaning of `sslmode` (as psql and Materialize's
 * docs use it): `require` encrypts, `verify-ca` also checks the CA, `verify-full` also the host name, with
 * `sslrootcert` naming a CA file. (pg's own parser treats them all as verify-full and prints a warning.) The
 * password comes from the URL, else a password file read at every connect (so a rotated app password is picked
 * up), else PGPASSWORD; it never needs to be in a URL that someone might log.
 */
import * as fs from 'node:fs';
import type { ClientConfig } from 'pg';
import { parse, toClientConfig } from 'pg-connection-string';

export interface MaterializePasswordSource {
  /** MZ_PASSWORD_FILE (default profile) or MZ_PASSWORD_FILE_<PROFILE>. */
  file?: { variable: string; path: string };
  /** PGPASSWORD, libpq's variable. */
  env?: string;
}

/** The password from its file, trailing newline dropped; an unreadable file is an error naming the variable. */
export function readPasswordFile(file: { variable: string; path: string }): string {
  try {
    return fs.readFileSync(file.path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new Error(`${file.variable}: cannot read ${file.path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function materializeClientConfig(url: string, password: MaterializePasswordSource = {}): ClientConfig {
  let parsed;
  try {
    parsed = parse(url, { useLibpqCompat: true });
  } catch (e) {
    // e.g. sslrootcert naming a missing file, or verify-ca without a CA.
    const err = e as NodeJS.ErrnoException & { path?: string };
    throw new Error(err.code === 'ENOENT' ? `sslrootcert/sslcert/sslkey file ${err.path} does not exist` : err.message);
  }
  const config = toClientConfig(parsed);
  if (!config.password) {
    const fromFile = password.file ? readPasswordFile(password.file) : undefined;
    const chosen = fromFile ?? password.env;
    if (chosen !== undefined) config.password = chosen;
  }
  return config;
}
