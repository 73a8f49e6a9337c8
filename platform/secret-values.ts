/**
 * The secret values this process holds (Materialize passwords and sensitive URL parameters, PGPASSWORD, AWS
 * keys and session token, the payload key, the Temporal API key), collected once at start so that any text
 * leaving the process (a log line, an activity result or failure) can be scrubbed of them in every spelling
 * we can foresee: as written, percent-decoded and percent-encoded. Structure-based redaction (connection-url)
 * comes first; this is the net under it, for the secret that turns up somewhere no rule expected, such as a
 * driver error quoting an sslkey path.
 */
import { describeSensitiveUrlValues } from './connection-url';

const MASK = '***';
/** Shorter values would mask ordinary words; no real secret is this short. */
const MIN_SECRET_LENGTH = 6;

const SECRET_ENV = ['PGPASSWORD', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_ACCESS_KEY_ID', 'TEMPORAL_API_KEY', 'MZ_S3_EXPORT_PAYLOAD_KEY'];

let known: string[] = [];

/** Every spelling of the secrets in `env` (its variables and every Materialize URL in it). */
export function secretValuesFromEnv(env: Record<string, string | undefined>): string[] {
  const values: string[] = [];
  for (const name of SECRET_ENV) if (env[name]) values.push(env[name]!);
  for (const [name, value] of Object.entries(env)) {
    if (value && /^MZ_URL(_[A-Z0-9_]+)?$/.test(name)) values.push(...describeSensitiveUrlValues(value));
    // Storage profiles' access keys (platform/storage-profiles.ts); keys read from a file register themselves.
    if (value && /^MZ_S3_EXPORT_STORAGE_[A-Z0-9_]+_(SECRET_ACCESS_KEY|ACCESS_KEY_ID)$/.test(name)) values.push(value);
  }
  const spellings = values.flatMap((v) => [v, safe(() => decodeURIComponent(v)), encodeURIComponent(v)]);
  return [...new Set(spellings)].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

/** Remembers the secrets of this process for scrub(); the worker calls it once at start. */
export function registerSecrets(values: string[]): void {
  known = [...new Set([...known, ...values])].sort((a, b) => b.length - a.length);
}

/** `text` with every registered secret replaced by ***. */
export function scrub(text: string): string {
  let out = text;
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join(MASK);
  return out;
}

/** A copy of `value` with scrub applied to every string inside it (own enumerable properties, arrays). */
export function scrubDeep<T>(value: T): T {
  if (known.length === 0) return value;
  if (typeof value === 'string') return scrub(value) as T;
  if (Array.isArray(value)) return value.map(scrubDeep) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v)])) as T;
  return value;
}

function safe(fn: () => string): string {
  try {
    return fn();
  } catch {
    return '';
  }
}
