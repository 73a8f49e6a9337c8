/**
 * One client TCP connection: the startup phase (SSLRequest/GSSENCRequest refused with 'N', CancelRequest,
 * StartupMessage), optional password authentication (cleartext or md5), the parameter statuses and
 * BackendKeyData a client needs (the key is what a cancel request must present), then message framing
 * for the session.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { HUMAN_VERSION, SERVER_VERSION } from '../build-info';
import { MzError, SqlState, type ErrorFields } from '../errors';
import type { Logger } from '../log';
import { backend, CANCEL_REQUEST, GSSENC_REQUEST, PROTOCOL_V3, Reader, SSL_REQUEST, type FrontendMessage } from './wire';

export interface AuthConfig {
  /** null: trust (no password asked). */
  password: string | null;
  method: 'cleartext' | 'md5';
  /** Serve TLS (answer an SSLRequest with 'S') with this certificate; null: refuse it ('N'). */
  tls?: SecureContext | null;
}

export interface ConnectionHandlers {
  /** A cancel request arrived on this (otherwise unused) connection. */
  onCancelRequest(processId: number, secretKey: number): void;
  /** Startup and authentication are done; returns the message handler for the session. */
  onReady(conn: ClientConnection, params: Record<string, string>): SessionLike;
}

export interface SessionLike {
  readonly processId: number;
  readonly secretKey: number;
  handle(msg: FrontendMessage): Promise<void>;
  /** The client is gone: abort what runs (called at once). */
  onClose(): void;
  /** Releases the session's state (called after the running statement has stopped). */
  dispose(): Promise<void>;
  /** The session's variables Materialize reports at startup (cluster, database, ...), as name and value. */
  reportedParameters?(): [string, string][];
  /** Notices to send once the session is ready (before the first ReadyForQuery). */
  startupNotices?(): ErrorFields[];
}

/**
 * Parameter statuses sent after authentication: Materialize's notify set (src/sql/src/session/vars.rs notify_set,
 * sent by src/pgwire/src/protocol.rs), with Postgres 9.5 compatibility; the session's own variables (its cluster,
 * database, ...) come from `sessionParameters`.
 */
export function startupParameters(params: Record<string, string>, sessionParameters: [string, string][] = []): [string, string][] {
  return [
    ['application_name', params.application_name ?? ''],
    ['client_encoding', 'UTF8'],
    ['DateStyle', 'ISO, MDY'],
    ['integer_datetimes', 'on'],
    ['server_version', SERVER_VERSION],
    ['standard_conforming_strings', 'on'],
    ['TimeZone', 'UTC'],
    ['IntervalStyle', 'postgres'],
    ...sessionParameters,
    ['mz_version', HUMAN_VERSION],
  ];
}

export class ClientConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private phase: 'startup' | 'auth' | 'ready' | 'closed' = 'startup';
  private params: Record<string, string> = {};
  private salt = randomBytes(4);
  private session: SessionLike | null = null;
  private queue: Promise<void> = Promise.resolve();

  private socket: Socket;
  private readonly onSocketData = (d: Buffer) => this.onData(d);

  constructor(
    socket: Socket,
    private readonly auth: AuthConfig,
    private readonly handlers: ConnectionHandlers,
    private readonly log: Logger,
  ) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', this.onSocketData);
    socket.on('error', () => undefined);
    socket.on('close', () => this.onSocketClose());
  }

  /**
   * Answers an SSLRequest with 'S' and continues the protocol over TLS on the same socket (the client sends
   * its TLS handshake next, then the startup message inside it).
   */
  private startTls(context: SecureContext): void {
    const raw = this.socket;
    raw.off('data', this.onSocketData);
    raw.write(Buffer.from('S'));
    const secure = new TLSSocket(raw, { isServer: true, secureContext: context });
    secure.on('data', this.onSocketData);
    secure.on('error', (e) => {
      this.log.debug(`TLS: ${e.message}`);
      raw.destroy();
    });
    this.socket = secure;
  }

  get isClosed(): boolean {
    return this.phase === 'closed' || this.socket.destroyed;
  }

  write(buf: Uint8Array): void {
    if (this.isClosed) return;
    this.socket.write(buf);
  }

  /** Drops the connection (like a network failure). */
  destroy(): void {
    this.socket.destroy();
  }

  private onSocketClose(): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.endSession();
  }

  private endSession(): void {
    const session = this.session;
    if (!session) return;
    this.session = null;
    session.onClose();
    this.queue = this.queue.then(() => session.dispose()).catch((e) => this.log.error(`session ${session.processId} cleanup: ${(e as Error).message}`));
  }

  private onData(d: Buffer): void {
    if (this.phase === 'closed') return;
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, d]) : d;
    try {
      this.drain();
    } catch (e) {
      const err = e instanceof MzError ? e : new MzError(SqlState.ProtocolViolation, (e as Error).message, { fatal: true });
      this.write(backend.errorResponse({ ...err.toFields(), severity: 'FATAL' }));
      this.socket.end();
      this.phase = 'closed';
      this.endSession();
    }
  }

  private drain(): void {
    for (;;) {
      if (this.phase === 'startup') {
        if (this.buffer.length < 4) return;
        const len = this.buffer.readInt32BE(0);
        if (len < 8 || len > 10_000) throw new MzError(SqlState.ProtocolViolation, 'invalid startup packet length', { fatal: true });
        if (this.buffer.length < len) return;
        const packet = this.buffer.subarray(0, len);
        this.buffer = this.buffer.subarray(len);
        this.onStartupPacket(packet);
        continue;
      }
      if (this.phase === 'closed') return;
      if (this.buffer.length < 5) return;
      const len = this.buffer.readInt32BE(1);
      if (len < 4 || len > 1024 ** 3) throw new MzError(SqlState.ProtocolViolation, 'invalid message length', { fatal: true });
      if (this.buffer.length < len + 1) return;
      const raw = Buffer.from(this.buffer.subarray(0, len + 1));
      this.buffer = this.buffer.subarray(len + 1);
      const msg: FrontendMessage = { type: String.fromCharCode(raw[0]), raw, body: raw.subarray(5) };
      if (this.phase === 'auth') this.onPassword(msg);
      else this.dispatch(msg);
    }
  }

  private onStartupPacket(packet: Buffer): void {
    const code = packet.readInt32BE(4);
    if (code === SSL_REQUEST && this.auth.tls && !(this.socket instanceof TLSSocket)) {
      if (this.buffer.length > 0) throw new MzError(SqlState.ProtocolViolation, 'data after SSLRequest before the TLS handshake', { fatal: true });
      this.startTls(this.auth.tls);
      return;
    }
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      this.write(Buffer.from('N'));
      return;
    }
    if (code === CANCEL_REQUEST) {
      const pid = packet.readInt32BE(8);
      const key = packet.readInt32BE(12);
      this.handlers.onCancelRequest(pid, key);
      this.phase = 'closed';
      this.socket.end();
      return;
    }
    if (code !== PROTOCOL_V3) {
      throw new MzError(SqlState.ProtocolViolation, `unsupported frontend protocol ${code >> 16}.${code & 0xffff}`, { fatal: true });
    }
    const r = new Reader(packet.subarray(8));
    while (r.pos < r.buf.length) {
      const k = r.cstring();
      if (k === '') break;
      this.params[k] = r.cstring();
    }
    if (!this.params.user) throw new MzError(SqlState.ProtocolViolation, 'user is required', { fatal: true });
    if (this.auth.password === null) return this.ready();
    this.phase = 'auth';
    this.write(this.auth.method === 'md5' ? backend.authenticationMd5Password(this.salt) : backend.authenticationCleartextPassword());
  }

  private onPassword(msg: FrontendMessage): void {
    if (msg.type !== 'p') throw new MzError(SqlState.ProtocolViolation, `expected password message, got ${JSON.stringify(msg.type)}`, { fatal: true });
    const given = new Reader(msg.body).cstring();
    const user = this.params.user;
    const expected =
      this.auth.method === 'md5'
        ? 'md5' + md5(Buffer.concat([Buffer.from(md5(this.auth.password! + user)), this.salt]))
        : this.auth.password!;
    if (given !== expected) {
      this.log.info(`password authentication failed for user "${user}"`);
      throw new MzError(SqlState.InvalidPassword, `password authentication failed for user "${user}"`, { fatal: true });
    }
    this.ready();
  }

  private ready(): void {
    this.phase = 'ready';
    const session = this.handlers.onReady(this, this.params);
    this.session = session;
    const out: Buffer[] = [backend.authenticationOk()];
    for (const [k, v] of startupParameters(this.params, session.reportedParameters?.())) out.push(backend.parameterStatus(k, v));
    out.push(backend.backendKeyData(session.processId, session.secretKey));
    for (const n of session.startupNotices?.() ?? []) out.push(backend.noticeResponse(n));
    out.push(backend.readyForQuery('I'));
    this.write(Buffer.concat(out));
  }

  private dispatch(msg: FrontendMessage): void {
    const session = this.session;
    if (!session) return;
    if (msg.type === 'X') {
      this.phase = 'closed';
      this.endSession();
      this.socket.end();
      return;
    }
    this.queue = this.queue.then(() => session.handle(msg)).catch((e) => this.log.error(`session ${session.processId}: ${(e as Error).stack ?? e}`));
  }
}

function md5(s: string | Buffer): string {
  return createHash('md5').update(s).digest('hex');
}
