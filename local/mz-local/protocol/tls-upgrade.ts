/**
 * TLS the way Materialize serves it on the pg port: a client that opens with an SSLRequest gets 'S' and continues
 * over TLS with the server's certificate (mz-local --tls-cert/--tls-key), so clients can test sslmode=verify-full
 * with sslrootcert. Without a certificate, or for a client that starts in plain text, the socket is handed on
 * untouched and ClientConnection answers an SSLRequest with 'N' as before.
 */
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { SSL_REQUEST } from './wire';

export interface TlsServing {
  cert: string;
  key: string;
}

export function withOptionalTls(socket: Socket, serving: TlsServing | undefined, onReady: (socket: Socket) => void): void {
  if (!serving) return onReady(socket);
  const context = tls.createSecureContext({ cert: serving.cert, key: serving.key });
  socket.once('data', (first: Buffer) => {
    socket.pause();
    const isSslRequest = first.length >= 8 && first.readInt32BE(0) === 8 && first.readInt32BE(4) === SSL_REQUEST;
    if (!isSslRequest) {
      socket.unshift(first);
      return onReady(socket);
    }
    socket.write('S');
    if (first.length > 8) socket.unshift(first.subarray(8)); // the ClientHello, if it came in the same packet
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
    secure.once('secure', () => onReady(secure));
    secure.on('error', () => socket.destroy()); // a client that rejects our certificate just goes away
  });
}
