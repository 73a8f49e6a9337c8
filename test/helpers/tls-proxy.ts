/**
 * A TLS-terminating proxy in front of a plain TCP server (the Temporal dev server has no TLS options): it
 * offers ALPN h2 for gRPC, demands a client certificate signed by the given CA (mTLS), and pipes the decrypted
 * bytes to the target. Connections it refused are counted, with the reason, so tests can see what the client
 * presented.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';

export interface TlsProxy {
  address: string;
  /** Client certificate subjects (CN) of the connections the proxy accepted. */
  acceptedClients: string[];
  /** Handshake errors, e.g. a client without a certificate. */
  refused: string[];
  close(): Promise<void>;
}

export async function startTlsProxy(opts: { target: string; cert: string; key: string; ca: string; requireClientCert?: boolean }): Promise<TlsProxy> {
  const [host, port] = [opts.target.slice(0, opts.target.lastIndexOf(':')), Number(opts.target.slice(opts.target.lastIndexOf(':') + 1))];
  const acceptedClients: string[] = [];
  const refused: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer(
    {
      cert: opts.cert,
      key: opts.key,
      ca: opts.ca,
      requestCert: opts.requireClientCert ?? true,
      rejectUnauthorized: opts.requireClientCert ?? true,
      ALPNProtocols: ['h2'],
    },
    (client) => {
      acceptedClients.push(String(client.getPeerCertificate()?.subject?.CN ?? ''));
      const upstream = net.connect(port, host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    },
  );
  server.on('tlsClientError', (e) => refused.push(e.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: listening } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${listening}`,
    acceptedClients,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
