/**
 * Proxies that sit between the worker and a server, for the fault suite and the benchmarks: they count what
 * passes (requests by AWS service and operation, bytes each way) and can make the server unreachable for a
 * while without stopping it (moto keeps its state in memory, so stopping it would lose every bucket and role).
 */
import * as http from 'node:http';
import * as net from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'unavailable';

export interface HttpCounts {
  requests: number;
  /** e.g. "s3 GET ListObjectsV2", "iam POST CreateRole". */
  byOperation: Record<string, number>;
  requestBytes: number;
  responseBytes: number;
  /** Response bytes of S3 object reads (GetObject): data that passed through the caller. */
  s3ObjectBytesRead: number;
  /** Requests answered with a fault while not in 'pass' mode. */
  faulted: number;
}

export interface CountingHttpProxy {
  url: string;
  port: number;
  counts: HttpCounts;
  reset(): void;
  /** 'refuse' drops connections (like a host that is down), 'unavailable' answers 503 (like an outage page). */
  setMode(mode: ProxyMode): void;
  close(): Promise<void>;
}

const emptyHttpCounts = (): HttpCounts => ({
  requests: 0,
  byOperation: {},
  requestBytes: 0,
  responseBytes: 0,
  s3ObjectBytesRead: 0,
  faulted: 0,
});

/** The AWS service from the SigV4 credential scope: `Credential=AKID/20240101/us-east-1/s3/aws4_request`. */
function serviceOf(req: http.IncomingMessage): string {
  const m = /Credential=[^/]+\/\d+\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization ?? ''));
  return m?.[1] ?? 'unknown';
}

function s3Operation(method: string, url: URL): string {
  const q = url.searchParams;
  const objectPath = url.pathname.split('/').filter(Boolean).length > 1;
  if (q.has('uploads')) return 'CreateMultipartUpload';
  if (q.has('uploadId')) return method === 'PUT' ? 'UploadPart' : method === 'POST' ? 'CompleteMultipartUpload' : 'AbortMultipartUpload';
  if (q.has('delete')) return 'DeleteObjects';
  if (method === 'GET' && !objectPath) return q.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects';
  if (method === 'GET') return 'GetObject';
  if (method === 'HEAD') return objectPath ? 'HeadObject' : 'HeadBucket';
  if (method === 'PUT') return objectPath ? 'PutObject' : 'CreateBucket';
  if (method === 'DELETE') return objectPath ? 'DeleteObject' : 'DeleteBucket';
  return method;
}

export async function startCountingHttpProxy(target: string, port = 0): Promise<CountingHttpProxy> {
  const upstream = new URL(target);
  let counts = emptyHttpCounts();
  let mode: ProxyMode = 'pass';
  const sockets = new Set<net.Socket>();

  const server = http.createServer((req, res) => {
    if (mode !== 'pass') {
      counts.faulted++;
      if (mode === 'refuse') return req.socket.destroy();
      res.writeHead(503, { 'content-type': 'text/plain', connection: 'close' }).end('ServiceUnavailable (fault injected)');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', upstream);
      const service = serviceOf(req);
      const form = new URLSearchParams(body.toString('utf8'));
      const op =
        service === 's3' ? s3Operation(req.method ?? 'GET', url) : (form.get('Action') ?? url.searchParams.get('Action') ?? req.method);
      counts.requests++;
      counts.byOperation[`${service} ${req.method} ${op}`] = (counts.byOperation[`${service} ${req.method} ${op}`] ?? 0) + 1;
      counts.requestBytes += body.length;
      const up = http.request(
        { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.on('data', (c: Buffer) => {
            counts.responseBytes += c.length;
            if (service === 's3' && op === 'GetObject') counts.s3ObjectBytesRead += c.length;
          });
          upRes.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    get counts() {
      return counts;
    },
    reset: () => void (counts = emptyHttpCounts()),
    setMode(m) {
      mode = m;
      // Keep-alive connections would otherwise carry on: a fault starts now, for everyone.
      if (m !== 'pass') for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface TcpCounts {
  connections: number;
  bytesToServer: number;
  bytesFromServer: number;
}

export interface CountingTcpProxy {
  port: number;
  counts: TcpCounts;
  reset(): void;
  setMode(mode: 'pass' | 'refuse'): void;
  /** Cuts every open connection now, as a network failure would. */
  dropConnections(): void;
  close(): Promise<void>;
}

/** A byte-counting TCP relay, e.g. between the worker and Materialize (pg wire). */
export async function startCountingTcpProxy(targetHost: string, targetPort: number, port = 0): Promise<CountingTcpProxy> {
  let counts: TcpCounts = { connections: 0, bytesToServer: 0, bytesFromServer: 0 };
  let mode: 'pass' | 'refuse' = 'pass';
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    if (mode === 'refuse') return client.destroy();
    counts.connections++;
    const upstream = net.connect({ host: targetHost, port: targetPort });
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    client.on('data', (c) => (counts.bytesToServer += c.length));
    upstream.on('data', (c) => (counts.bytesFromServer += c.length));
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const dropConnections = () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    port: (server.address() as net.AddressInfo).port,
    get counts() {
      return counts;
    },
    reset: () => void (counts = { connections: 0, bytesToServer: 0, bytesFromServer: 0 }),
    setMode(m) {
      mode = m;
      if (m === 'refuse') dropConnections();
    },
    dropConnections,
    close: () =>
      new Promise<void>((resolve) => {
        dropConnections();
        server.close(() => resolve());
      }),
  };
}
