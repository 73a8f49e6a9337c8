/**
 * The embedded SQL engine (PGlite, a single Postgres backend in WebAssembly) shared by all sessions.
 *
 * PGlite runs one backend, so sessions take turns: a session holds the engine for one exchange (a simple
 * query, or an extended-protocol batch up to Sync) and keeps holding it while its transaction is open.
 * Long operations (COPY ... TO S3) take the engine only for each chunk they fetch.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from '../log';
import { parseBackendMessages, type ParsedMessages } from '../protocol/backend-stream';
import { frontendMessage } from '../protocol/wire';
import { quoteIdent, quoteLiteral } from '../sql/lexer';
import { forgetFreshCluster, freshCluster } from './fresh-cluster';
import { Mutex } from './mutex';

interface EmscriptenFs {
  mkdirTree(path: string): void;
  mount(type: unknown, opts: { root: string }, mountpoint: string): void;
}

/** The engine's own superuser. */
const BOOTSTRAP_USER = 'postgres';

/** Anything that can own the engine: a session, or an internal task. */
export type EngineOwner = object;

export class Engine {
  private readonly mutex = new Mutex();
  private owner: EngineOwner | null = null;
  /** The session identity (user and database) last applied to the engine. */
  private identity: string | null = null;

  private constructor(
    readonly db: PGlite,
    private readonly log: Logger,
    /** Host directory holding the engine's temporary files when the data lives in memory. */
    private readonly spillDir: string | null,
  ) {}

  static async open(opts: { dataDir?: string; log: Logger }): Promise<Engine> {
    let dataDir: string | undefined;
    if (opts.dataDir) {
      fs.mkdirSync(opts.dataDir, { recursive: true });
      dataDir = fs.realpathSync(opts.dataDir);
    }
    const db = await openOnMaterializeDatabase(dataDir, opts.log);
    let spillDir: string | null = null;
    if (!dataDir) {
      // Temporary files (sorts, hash joins, the result a COPY's WITH HOLD cursor keeps) would otherwise
      // live in the in-memory filesystem; put them on disk so a large COPY does not grow memory.
      try {
        spillDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mz-local-spill-'));
        const res = await db.query<{ data_directory: string }>('SHOW data_directory');
        const mountPoint = `${res.rows[0].data_directory}/base/pgsql_tmp`;
        const mod = (db as unknown as { mod: { FS: EmscriptenFs; NODEFS: unknown } }).mod;
        mod.FS.mkdirTree(mountPoint);
        mod.FS.mount(mod.NODEFS, { root: spillDir }, mountPoint);
      } catch (e) {
        opts.log.warn(`temporary files stay in memory: ${(e as Error).message}`);
        if (spillDir) fs.rmSync(spillDir, { recursive: true, force: true });
        spillDir = null;
      }
    }
    return new Engine(db, opts.log, spillDir);
  }

  /** Whether `owner` currently holds the engine. */
  holds(owner: EngineOwner): boolean {
    return this.owner === owner;
  }

  /** Takes the engine for `owner` (no-op if it already holds it). */
  async acquire(owner: EngineOwner, signal?: AbortSignal): Promise<void> {
    if (this.owner === owner) return;
    await this.mutex.lock(signal);
    this.owner = owner;
  }

  /** Gives the engine back if `owner` holds it. */
  release(owner: EngineOwner): void {
    if (this.owner !== owner) return;
    this.owner = null;
    this.mutex.unlock();
  }

  /** Runs `fn` holding the engine; if the owner already held it, it keeps holding it afterwards. */
  async withEngine<T>(owner: EngineOwner, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const held = this.holds(owner);
    if (!held) await this.acquire(owner, signal);
    try {
      return await fn();
    } finally {
      if (!held) this.release(owner);
    }
  }

  /**
   * Makes the engine answer as a session would in Materialize: session_user/current_user are the
   * connecting user (a superuser role created on first use) and current_database() the session's
   * database. Applied only when it differs from the last identity applied (or was forgotten). The caller
   * holds the engine, outside a transaction.
   */
  async adoptIdentity(id: { user: string; database: string }): Promise<void> {
    const key = `${id.user}\0${id.database}`;
    if (this.identity === key) return;
    this.identity = key;
    // the database, and mz_catalog back on the search path if a RESET or DISCARD took it off (Materialize
    // always searches its catalog schemas)
    const setDatabase = `SELECT set_config('mz_local.database', ${quoteLiteral(id.database)}, false);
       SELECT set_config('search_path', current_setting('search_path') || ', mz_catalog, pg_catalog', false)
       WHERE NOT 'mz_catalog' = ANY (current_schemas(false))`;
    try {
      const res = await this.simpleQuery(
        `DO $mzl$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${quoteLiteral(id.user)}) THEN CREATE ROLE ${quoteIdent(id.user)} SUPERUSER; END IF;
         END $mzl$;
         SET SESSION AUTHORIZATION ${quoteIdent(id.user)};
         ${setDatabase}`,
      );
      if (res.error) {
        // e.g. a reserved role name (pg_...): answer as the engine's own superuser
        this.log.debug(`session identity ${id.user}: ${res.error.message}`);
        await this.simpleQuery(`SET SESSION AUTHORIZATION ${quoteIdent(BOOTSTRAP_USER)}; ${setDatabase}`);
      }
    } catch (e) {
      this.identity = null;
      this.log.warn(`applying the session identity of ${id.user} failed: ${(e as Error).message}`);
    }
  }

  /** Forgets the applied identity (a client statement may have changed it), so the next adopt re-applies it. */
  forgetIdentity(): void {
    this.identity = null;
  }

  /** Sends raw frontend messages to the engine, streaming its raw output. The caller holds the engine. */
  async execRaw(message: Uint8Array, onData: (chunk: Uint8Array) => void): Promise<void> {
    await this.db.execProtocolRawStream(message, { syncToFs: false, onRawData: onData });
  }

  /** Sends raw frontend messages and parses the whole output. The caller holds the engine. */
  async execCollect(message: Uint8Array): Promise<ParsedMessages> {
    const chunks: Uint8Array[] = [];
    await this.execRaw(message, (c) => chunks.push(Uint8Array.from(c)));
    return parseBackendMessages(chunks);
  }

  /** Runs one simple query (text protocol) and parses the result. The caller holds the engine. */
  async simpleQuery(sql: string): Promise<ParsedMessages> {
    return this.execCollect(frontendMessage('Q', Buffer.from(sql + '\0', 'utf8')));
  }

  /**
   * A parameterized query for mz-local's own bookkeeping; values come back as text. The caller holds
   * the engine. Throws the engine's error.
   */
  async query(sql: string, params: (string | null)[] = []): Promise<(string | null)[][]> {
    const res = await this.execCollect(extendedQuery(sql, params));
    if (res.error) throw Object.assign(new Error(res.error.message), { fields: res.error });
    return res.rows.map((r) => decodeRow(r));
  }

  /**
   * Runs mz-local's own statements that may fail (a probe); null if they do. Inside the client's transaction
   * they run under a savepoint, so a failure leaves the transaction as it was. The caller holds the engine.
   */
  async probe<T>(inTransaction: boolean, fn: () => Promise<T | null>): Promise<T | null> {
    if (!inTransaction) return fn().catch(() => null);
    await this.query('SAVEPOINT mz_local_probe');
    const out = await fn().catch(() => null);
    await this.query(out === null ? 'ROLLBACK TO SAVEPOINT mz_local_probe' : 'RELEASE SAVEPOINT mz_local_probe');
    return out;
  }

  /** The columns of a statement as the engine describes it, or its error (not run). The caller holds the engine. */
  async describe(sql: string): Promise<ParsedMessages> {
    return this.execCollect(describeStatement(sql));
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
    } catch (e) {
      this.log.warn(`engine close: ${(e as Error).message}`);
    }
    if (this.spillDir) fs.rmSync(this.spillDir, { recursive: true, force: true });
  }
}

/** Materialize's default database: the engine's database too. */
const DATABASE = 'materialize';

/**
 * Opens the engine on a database named `materialize`, so current_database(), pg_database and three-part
 * names (`materialize.public.t`) are as in Materialize. initdb makes only `postgres`: the database is created
 * on first use and the engine reopened on it (in memory: from a dump of the fresh cluster, about half a
 * second). A data directory written by an older mz-local (its catalog in `postgres`) keeps `postgres`.
 */
async function openOnMaterializeDatabase(dataDir: string | undefined, log: Logger): Promise<PGlite> {
  // An empty store starts from the cached fresh cluster (engine/fresh-cluster.ts) instead of running initdb.
  if (!dataDir || !fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const load = (tarball: Blob) => PGlite.create({ ...(dataDir ? { dataDir } : {}), loadDataDir: tarball, database: DATABASE });
    const tarball = await freshCluster(DATABASE, log).catch((e: unknown) => {
      log.warn(`no fresh cluster from the cache: ${(e as Error).message}`);
      return null;
    });
    if (tarball) {
      try {
        return await load(tarball);
      } catch (e) {
        // Made again (initdb) and cached for the next start; this start then loads the new one like any other.
        log.warn(`the cached fresh cluster did not load (${(e as Error).message}): making it again`);
        forgetFreshCluster();
        if (dataDir) for (const entry of fs.readdirSync(dataDir)) fs.rmSync(path.join(dataDir, entry), { recursive: true, force: true });
        const remade = await freshCluster(DATABASE, log);
        if (remade) return await load(remade);
      }
    }
  }
  const first = await PGlite.create(dataDir ? { dataDir } : {});
  let reopen = false;
  try {
    const exists = (await first.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [DATABASE])).rows.length > 0;
    if (!exists) {
      if ((await first.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'mz_internal'`)).rows.length > 0) {
        log.warn(`the data directory was written by an older mz-local: its database stays "postgres" (current_database() is still "${DATABASE}")`);
        return first;
      }
      await first.exec(`CREATE DATABASE ${DATABASE}`);
    }
    reopen = true;
    const dump = dataDir ? null : await first.dumpDataDir('none');
    await first.close();
    return await PGlite.create(dump ? { loadDataDir: dump, database: DATABASE } : { dataDir, database: DATABASE });
  } catch (e) {
    if (!reopen) await first.close().catch(() => undefined);
    throw e;
  }
}

/** Parse/Bind/Describe/Execute/Sync for an unnamed statement with text parameters. */
export function extendedQuery(sql: string, params: (string | null)[]): Buffer {
  const parse = Buffer.concat([Buffer.from('\0' + sql + '\0', 'utf8'), int16(0)]);
  const bindParts: Buffer[] = [Buffer.from('\0\0', 'utf8'), int16(0), int16(params.length)];
  for (const p of params) {
    if (p === null) bindParts.push(int32(-1));
    else {
      const b = Buffer.from(p, 'utf8');
      bindParts.push(int32(b.length), b);
    }
  }
  bindParts.push(int16(0));
  return Buffer.concat([
    frontendMessage('P', parse),
    frontendMessage('B', Buffer.concat(bindParts)),
    frontendMessage('D', Buffer.from('P\0', 'latin1')),
    frontendMessage('E', Buffer.concat([Buffer.from('\0'), int32(0)])),
    frontendMessage('S', Buffer.alloc(0)),
  ]);
}

/** Parse + Describe(statement) + Sync: the columns and parameter types of a query, without running it. */
export function describeStatement(sql: string): Buffer {
  return Buffer.concat([
    frontendMessage('P', Buffer.concat([Buffer.from('\0' + sql + '\0', 'utf8'), int16(0)])),
    frontendMessage('D', Buffer.from('S\0', 'latin1')),
    frontendMessage('S', Buffer.alloc(0)),
  ]);
}

function int16(n: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(n);
  return b;
}
function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n);
  return b;
}

function decodeRow(body: Buffer): (string | null)[] {
  const n = body.readInt16BE(0);
  const out: (string | null)[] = [];
  let p = 2;
  for (let k = 0; k < n; k++) {
    const len = body.readInt32BE(p);
    p += 4;
    if (len < 0) out.push(null);
    else {
      out.push(body.toString('utf8', p, p + len));
      p += len;
    }
  }
  return out;
}
