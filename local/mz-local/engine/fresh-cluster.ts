/**
 * A fresh engine cluster (initdb's output plus the `materialize` database), kept as a tarball in a cache folder so
 * that starting mz-local on an empty store loads it instead of running initdb again.
 *
 * Why: PGlite's initdb costs about 5 s of CPU (3 s of wall time) on every start; loading the same cluster from a
 * tarball costs about 1.4 s. Tests and demos start mz-local many times. The tarball depends only on the PGlite
 * build, so its name carries PGlite's version; a tarball that cannot be read or loaded is rebuilt, never trusted.
 *
 * The folder: MZ_LOCAL_CACHE_DIR, else $XDG_CACHE_HOME/mz-local, else ~/.cache/mz-local. MZ_LOCAL_CACHE_DIR=off
 * turns the cache off (every start runs initdb, as before). Starts may share the folder, all at once: each writes
 * its own `<tarball>.<pid>.partial` and renames it, and each start removes the partials of starts killed mid-write.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from '../log';

let pgliteVersionRead: string | undefined;

/** PGlite's version, read once from its package.json: a cluster made by another PGlite build is never loaded. */
function pgliteVersion(): string {
  return (pgliteVersionRead ??= readPgliteVersion());
}

function readPgliteVersion(): string {
  const entry = require.resolve('@electric-sql/pglite');
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@electric-sql/pglite' && pkg.version) return pkg.version;
    }
  }
  throw new Error('cannot find the version of @electric-sql/pglite');
}

/** Where the tarball lives, or null when the cache is off. */
export function freshClusterPath(env: NodeJS.ProcessEnv = process.env): string | null {
  const configured = env.MZ_LOCAL_CACHE_DIR;
  if (configured === 'off') return null;
  const dir = configured || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mz-local');
  return path.join(dir, `fresh-cluster-pglite-${pgliteVersion()}.tar`);
}

/**
 * The tarball of a fresh cluster whose database `database` exists: read from the cache, or made (initdb) and
 * written there for the next start. Written to a temporary name and renamed, so a concurrent start reads either
 * nothing or a whole file. Null when the cache is off.
 */
export async function freshCluster(database: string, log: Logger): Promise<Blob | null> {
  const file = freshClusterPath();
  if (!file) return null;
  removeStalePartials(path.dirname(file), log);
  try {
    return new Blob([fs.readFileSync(file)]);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`cannot read the cached fresh cluster ${file}: ${(e as Error).message}; making a new one`);
  }
  const db = await PGlite.create({});
  let tarball: Blob;
  try {
    await db.exec(`CREATE DATABASE ${database}`);
    tarball = await db.dumpDataDir('none');
  } finally {
    await db.close();
  }
  try {
    const bytes = Buffer.from(await tarball.arrayBuffer());
    // Synchronous from here to the rename, so removeStalePartials never sees this process's partial half-written.
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const partial = `${file}.${process.pid}.partial`;
    fs.writeFileSync(partial, bytes);
    fs.renameSync(partial, file);
  } catch (e) {
    // A cache that cannot be written costs only time: the next start runs initdb again.
    log.warn(`cannot cache the fresh cluster at ${file}: ${(e as Error).message}`);
  }
  return tarball;
}

/** A partial older than this is stale even if its pid is alive (reused): writing one takes well under a second. */
const PARTIAL_MAX_AGE_MS = 60 * 60 * 1000;
const PARTIAL = /^fresh-cluster-.+\.tar\.(\d+)\.partial$/;

/**
 * Removes the partial tarballs of starts killed mid-write (else each stays, 46 MiB, forever): those whose process
 * is gone, or is this one (its writes are synchronous, so none is under way), or that are older than an hour.
 * A live concurrent start's partial is kept: removing it would only make its rename fail.
 */
function removeStalePartials(dir: string, log: Logger): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return; // no folder yet: nothing left over
  }
  for (const name of names) {
    const match = PARTIAL.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    const partial = path.join(dir, name);
    try {
      if (pid !== process.pid && isAlive(pid) && Date.now() - fs.statSync(partial).mtimeMs < PARTIAL_MAX_AGE_MS) continue;
      fs.rmSync(partial, { force: true });
      log.info(`removed ${partial}, left by a start that did not finish writing it`);
    } catch (e) {
      // Gone already (a concurrent start removed or renamed it) or not ours to remove: it costs only disk space.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn(`cannot remove the stale ${partial}: ${(e as Error).message}`);
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only checks that the process exists
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

/** Removes the cached tarball (after it failed to load), so the next start makes a new one. */
export function forgetFreshCluster(): void {
  const file = freshClusterPath();
  if (file) fs.rmSync(file, { force: true });
}
