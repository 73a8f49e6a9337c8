/**
 * Streams a query's rows out of the engine in chunks through a cursor, taking the engine only while a
 * chunk is fetched, so other sessions run between chunks.
 *
 * Outside a transaction the cursor is WITH HOLD: its result is fixed at DECLARE (one consistent snapshot,
 * like Materialize's COPY at a single timestamp) and kept by the engine (spilling to its temporary files)
 * while the chunks are read. Inside the client's own transaction (COPY may run in a read transaction) the
 * cursor is an ordinary one and the session keeps the engine throughout, as its transaction does anyway.
 */
import type { Engine, EngineOwner } from '../engine/engine';
import { MzError } from '../errors';
import { quoteIdent } from '../sql/lexer';

let cursorCounter = 0;

export class CursorRowSource {
  private done = false;
  private closed = false;

  private constructor(
    private readonly engine: Engine,
    private readonly owner: EngineOwner,
    private readonly cursor: string,
    private readonly chunkRows: number,
  ) {}

  static async open(engine: Engine, owner: EngineOwner, query: string, opts: { inTransaction: boolean; chunkRows?: number; signal?: AbortSignal }): Promise<CursorRowSource> {
    const cursor = `mz_local_copy_${++cursorCounter}`;
    const hold = opts.inTransaction ? '' : ' WITH HOLD';
    await engine.withEngine(
      owner,
      async () => {
        const res = await engine.simpleQuery(`DECLARE ${quoteIdent(cursor)} NO SCROLL CURSOR${hold} FOR ${query}`);
        if (res.error) throw new MzError(res.error.code, res.error.message, { detail: res.error.detail, hint: res.error.hint });
      },
      opts.signal,
    );
    return new CursorRowSource(engine, owner, cursor, opts.chunkRows ?? 5000);
  }

  /** The next chunk of rows as DataRow bodies; null when the result is exhausted. */
  async next(signal?: AbortSignal): Promise<Buffer[] | null> {
    if (this.done) return null;
    const rows = await this.engine.withEngine(
      this.owner,
      async () => {
        const res = await this.engine.simpleQuery(`FETCH FORWARD ${this.chunkRows} FROM ${quoteIdent(this.cursor)}`);
        if (res.error) throw new MzError(res.error.code, res.error.message, { detail: res.error.detail, hint: res.error.hint });
        return res.rows;
      },
      signal,
    );
    if (rows.length < this.chunkRows) this.done = true;
    return rows.length > 0 ? rows : null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.engine.withEngine(this.owner, async () => {
      await this.engine.simpleQuery(`CLOSE ${quoteIdent(this.cursor)}`);
    });
  }
}
