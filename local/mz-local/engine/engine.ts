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
import { Mutex } from './mutex';

interface EmscriptenFs {
  mkdirTree(path: string): void;
  mount(type: unknown, opts: { root: string }, mountpoint: string): void;
}

/** Anything that can own the engine: a session, or an internal task. */
export type EngineOwner = object;

export class Engine {
  private readonly mutex = new Mutex();
  private owner: EngineOwner | null = null;

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
    const db = await PGlite.create(dataDir ? { dataDir } : {});
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

  async close(): Promise<void> {
    try {
      await this.db.close();
    } catch (e) {
      this.log.warn(`engine close: ${(e as Error).message}`);
    }
    if (this.spillDir) fs.rmSync(this.spillDir, { recursive: true, force: true });
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
