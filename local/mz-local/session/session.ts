/**
 * A client session: runs the simple and extended query protocols. Ordinary SQL goes to the engine as the
 * client sent it (raw protocol messages, output streamed back); Materialize statements mz-local implements
 * are answered here, also inside extended-protocol batches (Parse/Bind/Describe/Execute).
 *
 * Sessions share one engine backend: a session holds it for an exchange (a simple query, or an extended
 * batch until Sync) and while its transaction is open. Named prepared statements and portals are renamed
 * per session so sessions never see each other's.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { defaultClusterDoesNotExistNotice } from '../catalog/clusters';
import { canceledError, MzError, SqlState, toMzError, type ErrorFields } from '../errors';
import { BackendStreamScanner, RowRewriter } from '../protocol/backend-stream';
import type { ClientConnection, SessionLike } from '../protocol/client-connection';
import {
  backend,
  frontendMessage,
  readBind,
  readDescribeOrClose,
  readExecute,
  readParse,
  renameLeadingStrings,
  type FrontendMessage,
} from '../protocol/wire';
import { mayInvolveCollections, rewriteCollections } from '../sql/collection-syntax';
import { splitStatements, widenNumericPrecision } from '../sql/lexer';
import { MATERIALIZE_SESSION_VARS, parseSpecial, type Statement } from '../sql/statements';
import { describeSpecial, executeSpecial, reportedSessionVars, sessionVar, type ServerContext, type SessionState, type SpecialResult } from './special-statements';

let nextProcessId = 1000 + randomInt(1000);

/** Statements that can change the session authorization, the search path or mz-local's settings in the engine. */
const IDENTITY_CHANGING_SQL = /\b(authorization|role|discard|reset|search_path)\b|mz_local\.database/i;

/**
 * SQL that may write to tables or create them: after it, once the session is idle again, the writes are
 * dated (timestamps/read-timestamps.ts). A write this misses (a function called from a plain SELECT) is
 * dated at the next timestamp determination, later than it happened, which only makes AS OF reads stricter.
 */
const MAY_WRITE_SQL = /\b(insert|update|delete|truncate|copy|merge|call|do|execute|create|alter|drop|into|import|refresh)\b/i;

interface PreparedSpecial {
  stmt: Statement;
}

export class Session implements SessionLike {
  readonly processId = nextProcessId++;
  readonly secretKey = randomInt(1, 2 ** 31 - 1);
  private readonly vars = new Map<string, string>();
  private txStatus: 'I' | 'T' | 'E' = 'I';
  private readonly specialStatements = new Map<string, PreparedSpecial>();
  private readonly specialPortals = new Map<string, PreparedSpecial>();
  /** Engine-side names of this session's named prepared statements. */
  private readonly engineStatements = new Set<string>();
  /** Result column types of the session's engine statements (by client name), learned at Parse. */
  private readonly statementTypes = new Map<string, number[]>();
  /** How to rewrite the rows of the session's engine portals (by client name), set at Bind and Describe. */
  private readonly portalRows = new Map<string, RowRewriter | null>();
  private skipUntilSync = false;
  /** Whether SQL that may change the engine's session identity was sent (see noteIdentityChanges). */
  private identityDirty = false;
  /** Whether SQL that may write was sent since the writes were last dated. */
  private writesPending = false;
  private current: AbortController | null = null;
  private closed = false;
  private readonly state: SessionState;

  constructor(
    private readonly ctx: ServerContext,
    private readonly conn: ClientConnection,
    readonly params: Record<string, string>,
    private readonly onEnd: (s: Session) => void,
  ) {
    const defaults = new Map<string, string>();
    if (params.database) defaults.set('database', params.database);
    // startup options (`options=--cluster=x` or `-c cluster=x`) are the session's defaults
    for (const [k, v] of parseStartupOptions(params.options ?? '')) if (k in MATERIALIZE_SESSION_VARS) defaults.set(k, v);
    const sessionId = randomUUID();
    const connectedAt = new Date();
    this.state = {
      owner: this,
      vars: this.vars,
      defaults,
      txStatus: () => this.txStatus,
      dropConnection: () => this.conn.destroy(),
      takeEngine: (signal) => this.takeEngine(signal),
      info: () => ({ sessionId, connectedAt, user: params.user ?? 'materialize', applicationName: params.application_name ?? '' }),
    };
  }

  /** The session variables Materialize reports at startup. */
  reportedParameters(): [string, string][] {
    return reportedSessionVars(this.state);
  }

  /** Notices for the client right after startup (src/adapter/src/client.rs: the default cluster must exist). */
  startupNotices(): ErrorFields[] {
    const cluster = sessionVar(this.state, 'cluster');
    return this.ctx.clusters.idOf(cluster) ? [] : [defaultClusterDoesNotExistNotice(cluster)];
  }

  /** Cancels the running statement, if any (a CancelRequest with this session's key). */
  cancel(): void {
    this.current?.abort(new Error('canceled by request'));
  }

  async handle(msg: FrontendMessage): Promise<void> {
    if (this.closed) return;
    const ac = new AbortController();
    this.current = ac;
    try {
      switch (msg.type) {
        case 'Q':
          await this.simpleQuery(msg.body.toString('utf8', 0, Math.max(0, msg.body.length - 1)), ac.signal);
          break;
        case 'P':
        case 'B':
        case 'D':
        case 'E':
        case 'C':
        case 'H':
        case 'S':
          await this.extended(msg, ac.signal);
          break;
        case 'd':
        case 'c':
        case 'f':
          // COPY FROM STDIN data for the engine (the session holds it since the COPY started)
          await this.forward(msg.raw, ac.signal, { dropReadyForQuery: false });
          break;
        default:
          this.sendError(new MzError(SqlState.ProtocolViolation, `unsupported frontend message type ${JSON.stringify(msg.type)}`));
          this.conn.write(backend.readyForQuery(this.txStatus));
      }
    } finally {
      if (this.current === ac) this.current = null;
    }
  }

  // ------------------------------------------------------------------------------------------------------
  // simple query protocol

  private async simpleQuery(sql: string, signal: AbortSignal): Promise<void> {
    sql = widenNumericPrecision(sql);
    try {
      sql = await this.rewriteCollections(sql, signal);
    } catch (e) {
      this.sendError(toMzError(e, SqlState.SyntaxError));
      this.conn.write(backend.readyForQuery(this.txStatus));
      return;
    }
    this.noteIdentityChanges(sql);
    let stmts;
    try {
      stmts = splitStatements(sql);
    } catch {
      // not something mz-local can tokenize: the engine reports its own syntax error
      await this.forwardQuery(frontendMessage('Q', Buffer.from(sql + '\0', 'utf8')), signal, false);
      return;
    }
    let specials: (Statement | null)[];
    try {
      specials = stmts.map((s) => parseSpecial(s.text, s.tokens));
    } catch (e) {
      this.sendError(toMzError(e, SqlState.SyntaxError));
      this.conn.write(backend.readyForQuery(this.txStatus));
      return;
    }
    if (stmts.length === 0) {
      this.conn.write(backend.emptyQueryResponse());
      this.conn.write(backend.readyForQuery(this.txStatus));
      return;
    }
    if (specials.every((s) => s === null)) {
      // ordinary SQL only: the engine answers the whole message
      await this.forwardQuery(frontendMessage('Q', Buffer.from(sql + '\0', 'utf8')), signal, false);
      return;
    }
    let i = 0;
    while (i < stmts.length) {
      if (specials[i] === null) {
        let j = i;
        while (j < stmts.length && specials[j] === null) j++;
        const text = stmts
          .slice(i, j)
          .map((s) => s.text)
          .join(';\n');
        const ok = await this.forwardQuery(frontendMessage('Q', Buffer.from(text + '\0', 'utf8')), signal, true);
        if (!ok) break;
        i = j;
        continue;
      }
      const ok = await this.runSpecial(specials[i]!, signal, true);
      if (!ok) break;
      i++;
    }
    this.conn.write(backend.readyForQuery(this.txStatus));
  }

  /** Sends a simple query to the engine; returns false if it failed. */
  private async forwardQuery(message: Buffer, signal: AbortSignal, dropReadyForQuery: boolean): Promise<boolean> {
    try {
      await this.takeEngine(signal);
    } catch {
      this.sendError(canceledError());
      if (!dropReadyForQuery) this.conn.write(backend.readyForQuery(this.txStatus));
      return false;
    }
    const scanner = await this.forward(message, signal, { dropReadyForQuery });
    return scanner.error === null;
  }

  /** Runs one Materialize statement and writes its result; returns false on error. */
  private async runSpecial(stmt: Statement, signal: AbortSignal, withRowDescription: boolean): Promise<boolean> {
    try {
      const res = await executeSpecial(stmt, this.ctx, this.state, signal);
      if (res.forward !== undefined) return await this.forwardQuery(frontendMessage('Q', Buffer.from(res.forward + '\0', 'utf8')), signal, true);
      this.writeResult(res, withRowDescription);
      return true;
    } catch (e) {
      const err = signal.aborted && !(e instanceof MzError && e.code !== SqlState.QueryCanceled) ? canceledError() : toMzError(e);
      this.sendError(err);
      if (this.txStatus === 'T') this.txStatus = 'E';
      return false;
    }
  }

  private writeResult(res: SpecialResult, withRowDescription: boolean): void {
    const out: Buffer[] = [];
    for (const n of res.notices ?? []) out.push(backend.noticeResponse(n));
    for (const [name, value] of res.parameterStatuses ?? []) out.push(backend.parameterStatus(name, value));
    if (res.columns && withRowDescription) out.push(backend.rowDescription(res.columns));
    for (const row of res.rows ?? []) out.push(backend.dataRow(row));
    out.push(backend.commandComplete(res.tag));
    this.conn.write(Buffer.concat(out));
  }

  // ------------------------------------------------------------------------------------------------------
  // extended query protocol

  private engineName(name: string): string {
    return name === '' ? '' : `mzl_s${this.processId}_${name}`;
  }

  private async extended(msg: FrontendMessage, signal: AbortSignal): Promise<void> {
    if (this.skipUntilSync && msg.type !== 'S') return;
    switch (msg.type) {
      case 'P': {
        const parsed = readParse(msg.body);
        let widened: string;
        try {
          widened = await this.rewriteCollections(widenNumericPrecision(parsed.query), signal);
        } catch (e) {
          return this.extendedError(toMzError(e, SqlState.SyntaxError));
        }
        if (widened !== parsed.query) msg = { ...msg, body: replaceParseQuery(msg.body, parsed.name, parsed.query, widened) };
        const p = { ...parsed, query: widened };
        this.noteIdentityChanges(p.query);
        let stmt: Statement | null = null;
        let stmts: ReturnType<typeof splitStatements> = [];
        try {
          stmts = splitStatements(p.query);
        } catch {
          // left to the engine, which reports its own syntax error
        }
        try {
          if (stmts.length === 1) stmt = parseSpecial(stmts[0].text, stmts[0].tokens);
        } catch (e) {
          return this.extendedError(toMzError(e, SqlState.SyntaxError));
        }
        let body = msg.body;
        if (stmt?.kind === 'select_as_of') {
          // a read AS OF: its timestamp is chosen (and waited for) now, and the engine kept until Sync, so
          // the Execute that follows reads at it; the engine gets the query without its AS OF
          let res;
          try {
            res = await executeSpecial(stmt, this.ctx, this.state, signal);
          } catch (e) {
            return this.extendedError(signal.aborted ? canceledError() : toMzError(e));
          }
          body = replaceParseQuery(msg.body, p.name, p.query, res.forward!);
          stmt = null;
        }
        if (stmt) {
          this.specialStatements.set(p.name, { stmt });
          this.conn.write(backend.parseComplete());
          return;
        }
        this.specialStatements.delete(p.name);
        const renamed = frontendMessage('P', renameLeadingStrings(body, 1, (s) => this.engineName(s)));
        if (p.name) this.engineStatements.add(this.engineName(p.name));
        await this.forwardExtended(renamed, signal);
        await this.learnStatementTypes(p.name);
        return;
      }
      case 'B': {
        const b = readBind(msg.body);
        const special = this.specialStatements.get(b.statement);
        if (special) {
          this.specialPortals.set(b.portal, special);
          this.conn.write(backend.bindComplete());
          return;
        }
        this.specialPortals.delete(b.portal);
        const types = this.statementTypes.get(b.statement);
        const format = (i: number) => (b.resultFormats.length === 1 ? b.resultFormats[0] : (b.resultFormats[i] ?? 0));
        this.portalRows.set(b.portal, types ? RowRewriter.forColumns(types.map((typeOid, i) => ({ typeOid, format: format(i) })), this.ctx.collections.lookup) : null);
        await this.forwardExtended(frontendMessage('B', renameLeadingStrings(msg.body, 2, (s) => this.engineName(s))), signal);
        return;
      }
      case 'D': {
        const d = readDescribeOrClose(msg.body);
        const special = d.kind === 'S' ? this.specialStatements.get(d.name) : this.specialPortals.get(d.name);
        if (special) {
          const cols = describeSpecial(special.stmt);
          if (d.kind === 'S') this.conn.write(backend.parameterDescription([]));
          this.conn.write(cols ? backend.rowDescription(cols) : backend.noData());
          return;
        }
        const scanner = await this.forwardExtended(frontendMessage('D', renameLeadingStrings(msg.body, -1, (s) => this.engineName(s))), signal);
        if (scanner && !scanner.error) this.learnDescription(d, scanner);
        return;
      }
      case 'E': {
        const e = readExecute(msg.body);
        const special = this.specialPortals.get(e.portal);
        if (special) {
          const ok = await this.runSpecial(special.stmt, signal, false);
          if (!ok) this.skipUntilSync = true;
          return;
        }
        await this.forwardExtended(frontendMessage('E', renameLeadingStrings(msg.body, 1, (s) => this.engineName(s))), signal, this.portalRows.get(e.portal) ?? null);
        return;
      }
      case 'C': {
        const c = readDescribeOrClose(msg.body);
        const map = c.kind === 'S' ? this.specialStatements : this.specialPortals;
        if (map.has(c.name)) {
          map.delete(c.name);
          this.conn.write(backend.closeComplete());
          return;
        }
        if (c.kind === 'S') {
          this.engineStatements.delete(this.engineName(c.name));
          this.statementTypes.delete(c.name);
        } else this.portalRows.delete(c.name);
        await this.forwardExtended(frontendMessage('C', renameLeadingStrings(msg.body, -1, (s) => this.engineName(s))), signal);
        return;
      }
      case 'H':
        if (this.ctx.engine.holds(this)) await this.forward(msg.raw, signal, { dropReadyForQuery: false });
        return;
      case 'S': {
        this.skipUntilSync = false;
        if (this.ctx.engine.holds(this)) {
          await this.forward(msg.raw, signal, { dropReadyForQuery: false });
        } else {
          this.conn.write(backend.readyForQuery(this.txStatus));
        }
        return;
      }
    }
  }

  private extendedError(e: MzError): void {
    this.sendError(e);
    this.skipUntilSync = true;
  }

  private async forwardExtended(message: Buffer, signal: AbortSignal, rows: RowRewriter | null = null): Promise<BackendStreamScanner | null> {
    try {
      await this.takeEngine(signal);
    } catch {
      this.extendedError(canceledError());
      return null;
    }
    const scanner = await this.forward(message, signal, { dropReadyForQuery: false, rows });
    if (scanner.error) this.skipUntilSync = true;
    return scanner;
  }

  /**
   * After a Parse: the statement's result column types, from a Describe of our own (its output is not
   * forwarded), so the rows of portals bound to it can be rewritten even when the client never describes.
   */
  private async learnStatementTypes(name: string): Promise<void> {
    this.statementTypes.delete(name);
    if (this.skipUntilSync || !this.ctx.engine.holds(this)) return;
    const res = await this.ctx.engine.execCollect(frontendMessage('D', Buffer.from('S' + this.engineName(name) + '\0', 'utf8')));
    if (res.columns) this.statementTypes.set(name, res.columns.map((c) => c.typeOid));
  }

  /** A client's Describe: the statement's column types, or the portal's row rewrite (with its formats). */
  private learnDescription(d: { kind: 'S' | 'P'; name: string }, scanner: BackendStreamScanner): void {
    const cols = scanner.lastDescription;
    if (d.kind === 'S') {
      if (cols) this.statementTypes.set(d.name, cols.map((c) => c.typeOid));
      else if (scanner.sawNoData) this.statementTypes.delete(d.name);
    } else if (cols) this.portalRows.set(d.name, RowRewriter.forColumns(cols, this.ctx.collections.lookup));
    else if (scanner.sawNoData) this.portalRows.delete(d.name);
  }

  // ------------------------------------------------------------------------------------------------------
  // engine plumbing

  /**
   * Takes the engine (if this session does not hold it yet) as this session: its user (session_user and
   * current_user) and database (current_database()), as Materialize answers them.
   */
  private async takeEngine(signal: AbortSignal): Promise<void> {
    if (this.ctx.engine.holds(this)) return;
    await this.ctx.engine.acquire(this, signal);
    await this.ctx.engine.adoptIdentity({ user: this.params.user ?? 'materialize', database: sessionVar(this.state, 'database') });
  }

  /**
   * Materialize's list and map syntax onto the engine's stand-in types (sql/collection-syntax.ts). It may
   * define types and read the catalog, so it takes the engine; an error gives it back if the session is idle.
   * A failed transaction is left to the engine, which refuses the statement anyway.
   */
  private async rewriteCollections(sql: string, signal: AbortSignal): Promise<string> {
    if (this.txStatus === 'E' || !mayInvolveCollections(sql, this.ctx.collections)) return sql;
    await this.takeEngine(signal);
    try {
      return await rewriteCollections(sql, this.ctx.collections, this.txStatus === 'T');
    } catch (e) {
      if (this.txStatus === 'I') this.ctx.engine.release(this);
      throw e;
    }
  }

  /** SQL that may change the engine's session authorization or settings: re-apply the identity after it ran. */
  private noteIdentityChanges(sql: string): void {
    if (IDENTITY_CHANGING_SQL.test(sql)) this.identityDirty = true;
    if (MAY_WRITE_SQL.test(sql)) this.writesPending = true;
  }

  /**
   * Sends raw messages to the engine (which this session holds) and streams the output to the client.
   * Releases the engine when a ReadyForQuery shows the session idle again.
   */
  private async forward(message: Buffer, signal: AbortSignal, opts: { dropReadyForQuery: boolean; rows?: RowRewriter | null }): Promise<BackendStreamScanner> {
    const scanner = new BackendStreamScanner({ dropReadyForQuery: opts.dropReadyForQuery, recordTypes: false, rows: opts.rows, definedTypes: this.ctx.collections.lookup });
    await this.takeEngine(signal);
    try {
      await this.ctx.engine.execRaw(message, (chunk) => {
        const parts = scanner.feed(chunk);
        // copied: the engine may reuse the chunk's memory
        if (parts.length === 1) this.conn.write(Buffer.from(parts[0]));
        else if (parts.length > 1) this.conn.write(Buffer.concat(parts));
      });
    } catch (e) {
      this.ctx.log.error(`engine failure: ${(e as Error).message}`);
      this.sendError(new MzError(SqlState.InternalError, `internal error: ${(e as Error).message}`));
    }
    if (scanner.status) {
      if (this.identityDirty) {
        this.ctx.engine.forgetIdentity();
        this.identityDirty = false;
      }
      this.txStatus = scanner.status;
      if (scanner.status === 'I') {
        if (this.writesPending) {
          this.writesPending = false;
          try {
            await this.ctx.timestamps.collectWrites();
          } catch (e) {
            this.ctx.log.warn(`dating writes: ${(e as Error).message}`);
          }
        }
        this.ctx.engine.release(this);
      }
    }
    return scanner;
  }

  private sendError(e: MzError | ErrorFields): void {
    const fields = e instanceof MzError ? e.toFields() : e;
    this.conn.write(backend.errorResponse(fields));
  }

  /** The client went away: stop what runs, roll back, drop this session's engine state. */
  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.current?.abort(new Error('client connection closed'));
  }

  /** Runs after the last statement has stopped: rolls back, drops named statements, frees the engine. */
  async dispose(): Promise<void> {
    const engine = this.ctx.engine;
    if (!engine.holds(this) && this.engineStatements.size === 0) {
      this.onEnd(this);
      return;
    }
    try {
      await engine.acquire(this);
      const msgs: Buffer[] = [frontendMessage('S', Buffer.alloc(0))];
      for (const name of this.engineStatements) msgs.push(frontendMessage('C', Buffer.from('S' + name + '\0', 'utf8')));
      msgs.push(frontendMessage('S', Buffer.alloc(0)));
      await engine.execCollect(Buffer.concat(msgs));
      if (this.txStatus !== 'I') await engine.simpleQuery('ROLLBACK');
    } catch (e) {
      this.ctx.log.warn(`session ${this.processId} cleanup: ${(e as Error).message}`);
    } finally {
      engine.release(this);
      this.onEnd(this);
    }
  }
}

/**
 * The startup `options` parameter as Materialize reads it (src/pgwire/src/protocol.rs parse_options):
 * space-separated `--key=value`, `-c key=value` or `-ckey=value` (a backslash escapes a space); dashes in
 * keys become underscores.
 */
export function parseStartupOptions(value: string): [string, string][] {
  const words: string[] = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && value[i + 1] === ' ') {
      cur += ' ';
      i++;
    } else if (c === ' ') {
      if (cur) words.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur) words.push(cur);
  const out: [string, string][] = [];
  for (let i = 0; i < words.length; i++) {
    let w = words[i];
    if (w === '-c') w = '-c' + (words[++i] ?? '');
    const m = /^(?:--|-c)([^=]+)=(.*)$/s.exec(w);
    if (m) out.push([m[1].replace(/-/g, '_').toLowerCase(), m[2]]);
  }
  return out;
}

/** A Parse message body with its query text replaced (name, query, then the parameter types unchanged). */
function replaceParseQuery(body: Buffer, name: string, query: string, replacement: string): Buffer {
  const rest = body.subarray(Buffer.byteLength(name, 'utf8') + 1 + Buffer.byteLength(query, 'utf8') + 1);
  return Buffer.concat([Buffer.from(name + '\0' + replacement + '\0', 'utf8'), rest]);
}
