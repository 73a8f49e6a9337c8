/**
 * Connecting to Temporal, shared by the worker (NativeConnection) and the client (Connection): the options from
 * config (platform/temporal-profile.ts), and a failure turned into a message that says what was tried and what
 * to check. The client's gRPC library reports a failed TLS handshake only as a missed deadline, so on failure a
 * plain node:tls handshake with the same settings is tried to learn the reason.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import type { TemporalConfig } from './config';
import { InvalidInputError } from '../common/failures';

export function temporalConnectionOptions(t: TemporalConfig) {
  return t.connection;
}

/** Known failures, matched on the texts of tonic/rustls (worker) and OpenSSL (the handshake probe). */
const HINTS: [RegExp, string][] = [
  [/UnknownIssuer|unable to (get local issuer|verify the first) certificate|self[- ]signed certificate/i,
    "the server's certificate is not signed by a CA this side trusts: set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it"],
  [/NotValidForName|Hostname\/IP does not match|altnames/i,
    "the server's certificate does not carry the name dialled: set TEMPORAL_TLS_SERVER_NAME to a name it carries"],
  [/CertificateRequired|certificate required|alert number 116|bad certificate|alert number 42|unknown ca|alert number 48|connection closed|socket hang up|ECONNRESET/i,
    'the server ended the TLS handshake, usually because it wants a client certificate it accepts: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH to a pair signed by the CA it trusts'],
  [/wrong version number|InvalidContentType|packet length too long|CorruptMessage/i,
    'TLS is on but the server speaks plain TCP: unset TEMPORAL_TLS (or the profile\'s tls section)'],
  [/broken pipe|BrokenPipe|h2 protocol error|frame with invalid size|Premature close/i,
    'the server dropped a plain connection: it probably expects TLS (Temporal Cloud always does): set TEMPORAL_TLS=true'],
  [/ECONNREFUSED|Connection refused|ConnectionRefused/i,
    "nothing listens there: check TEMPORAL_ADDRESS, or start the local stack with 'mz-s3-export stack up'"],
  [/UNAUTHENTICATED|invalid API key|Request unauthorized|PERMISSION_DENIED/i,
    'the server refused the credentials: check TEMPORAL_API_KEY or the client certificate, and TEMPORAL_NAMESPACE'],
  [/ENOTFOUND|EAI_AGAIN|dns error|failed to lookup/i, 'the host name does not resolve: check TEMPORAL_ADDRESS'],
];

const pem = (b: Uint8Array | undefined) => (b ? Buffer.from(b) : undefined);

/** A bare TLS (or TCP) handshake to the address with the connection's settings; its error text, or undefined. */
export async function probeHandshake(t: TemporalConfig, timeoutMs = 5000): Promise<string | undefined> {
  const i = t.address.lastIndexOf(':');
  const host = t.address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(t.address.slice(i + 1));
  const opts = t.connection.tls;
  return new Promise((resolve) => {
    const conf: TLSConfig = typeof opts === 'object' ? opts : {};
    const socket = opts
      ? tls.connect({
          host,
          port,
          servername: conf.serverNameOverride ?? (net.isIP(host) ? undefined : host),
          ca: pem(conf.serverRootCACertificate),
          cert: pem(conf.clientCertPair?.crt),
          key: pem(conf.clientCertPair?.key),
          ALPNProtocols: ['h2'],
        })
      : net.connect({ host, port });
    const done = (result: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('error', (e: NodeJS.ErrnoException) => done(`${e.code ?? ''} ${e.message}`.trim()));
    // TLS 1.3 servers reject a client certificate after the handshake: wait a moment for their alert.
    socket.once(opts ? 'secureConnect' : 'connect', () => setTimeout(() => done(undefined), opts ? 300 : 0));
  });
}

/** An InvalidInputError: the fix is a setting (the CLI prints it without a stack trace). */
export async function explainConnectFailure(e: unknown, t: TemporalConfig): Promise<Error> {
  const raw = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 500);
  const probe = await probeHandshake(t).catch((p: Error) => p.message);
  const hint = HINTS.find(([re]) => re.test(raw) || (probe !== undefined && re.test(probe)))?.[1];
  return new InvalidInputError(
    `cannot connect to Temporal at ${t.address}, namespace ${t.namespace} (tried ${t.description})` +
      (hint ? `: ${hint}` : '') +
      `\n  the connection said: ${raw}` +
      (probe ? `\n  a ${t.tls ? 'TLS handshake' : 'TCP connection'} to the same address said: ${probe}` : ''),
  );
}
