/**
 * Reading errors from pg, in one place: whether Materialize answered (a SQLSTATE) or the connection failed (a
 * socket error), and the server's words in one line.
 */

export interface PgErrorFields {
  /** SQLSTATE when the server answered; Node's socket error name (ECONNRESET, ...) when the connection failed. */
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
  /** Set only on the server's answers (pg's DatabaseError). */
  severity?: string;
}

/** The server answered with an error (it has a severity and a SQLSTATE), as opposed to a connection failure. */
export function isServerError(e: unknown): boolean {
  const err = e as PgErrorFields | undefined;
  return typeof err?.severity === 'string' && typeof err.code === 'string';
}

/** Message, detail and hint in one line: Materialize puts the useful part in detail and hint. */
export function pgErrorText(e: unknown): string {
  const err = e as PgErrorFields | undefined;
  return [err?.message, err?.detail, err?.hint].filter(Boolean).join(' — ');
}

const TRANSIENT_ERRNO = /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND)$/;
const TRANSIENT_MESSAGE = /connection terminated|terminating connection|server closed the connection|connection (was )?(lost|reset)|socket hang up|timeout expired|Connection terminated unexpectedly/i;

/** A socket error name that means the server is unreachable or went away for a while. */
export function isTransientErrno(errno: string | undefined): boolean {
  return errno !== undefined && TRANSIENT_ERRNO.test(errno);
}

/** Words of a lost connection, in the server's or the client's messages. */
export function soundsLikeLostConnection(text: string): boolean {
  return TRANSIENT_MESSAGE.test(text);
}

/** A connection that could not be made or was dropped: Materialize restarting or unreachable for a while. */
export function isConnectionUnavailable(e: PgErrorFields): boolean {
  if (typeof e.severity === 'string') return /^(08|57P0[1-3])/.test(e.code ?? '');
  return isTransientErrno(e.code) || soundsLikeLostConnection(e.message ?? '');
}
