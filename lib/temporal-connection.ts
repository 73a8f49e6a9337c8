/**
 * Connecting to Temporal, shared by the worker (NativeConnection) and the client (Connection): the options from
 * config (platform/temporal-profile.ts), and a failure turned into a message that says what was tried and what
 * to check, instead of a bare transport error.
 */
import type { TemporalConfig } from './config';

export function temporalConnectionOptions(t: TemporalConfig) {
  return t.connection;
}

/** Known transport failures, matched on the texts of tonic/rustls (worker) and grpc-js/OpenSSL (client). */
const HINTS: [RegExp, string][] = [
  [/UnknownIssuer|unable to (get local issuer|verify the first) certificate|self[- ]signed certificate/i,
    "the server's certificate is not signed by a CA this side trusts: set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it"],
  [/NotValidForName|Hostname\/IP does not match|altnames/i,
    "the server's certificate does not name the address dialled: set TEMPORAL_TLS_SERVER_NAME to a name it carries"],
  [/certificate required|CertificateRequired|handshake failure|alert number 116|bad certificate|unknown ca/i,
    'the server refused the TLS handshake, usually for want of an accepted client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH to a pair its CA signed'],
  [/wrong version number|InvalidContentType|packet length too long|CorruptMessage/i,
    'TLS is on but the server speaks plain TCP (or the reverse): check TEMPORAL_TLS'],
  [/h2 protocol error|frame with invalid size|connection reset|Connection reset|broken pipe|unexpected EOF|UnexpectedEof|Premature close|socket hang up/i,
    'the connection dropped during setup; if the server expects TLS, set TEMPORAL_TLS=true (Temporal Cloud always does)'],
  [/ECONNREFUSED|Connection refused|ConnectionRefused/i, 'nothing listens there: check TEMPORAL_ADDRESS, or start the local stack with `mz-s3-export stack up`'],
  [/UNAUTHENTICATED|invalid API key|Request unauthorized|PERMISSION_DENIED/i, 'the server refused the credentials: check TEMPORAL_API_KEY or the client certificate, and TEMPORAL_NAMESPACE'],
  [/ENOTFOUND|dns error|failed to lookup/i, 'the host name does not resolve: check TEMPORAL_ADDRESS'],
];

export function explainConnectFailure(e: unknown, t: TemporalConfig): Error {
  const raw = e instanceof Error ? e.message : String(e);
  const hint = HINTS.find(([re]) => re.test(raw))?.[1];
  return new Error(
    `cannot connect to Temporal at ${t.address}, namespace ${t.namespace} (tried ${t.description})` +
      (hint ? `: ${hint}` : '') +
      `\n  the connection said: ${raw.split('\n')[0].slice(0, 500)}`,
  );
}
