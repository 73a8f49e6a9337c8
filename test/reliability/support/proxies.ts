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

/** What a hold rule sees of a request. */
export interface RequestInfo {
  service: string;
  op: string;
  method: string;
  /** Decoded path, e.g. /bucket/prefix/key. */
  path: string;
  /** Decoded query parameters, e.g. prefix of a ListObjectsV2. */
  query: Record<string, string>;
  /** Form parameters decoded, as k=v&k=v (IAM and STS send theirs form-encoded); S3 bodies are not shown. */
  body: string;
}

/**
 * Parks one matching request: 'before' holds it unsent (the side effect has not happened), 'after' sends it
 * and holds the response (the side effect happened, the caller does not know yet). Used to freeze a workflow
 * at a chosen phase, kill the worker there, and let go.
 */
export interface Hold {
  /** Resolves when a matching request is being held. */
  engaged: Promise<void>;
  isEngaged(): boolean;
  /** Lets it go: forwards a 'before' request (or drops it with drop: true), delivers an 'after' response. */
  release(opts?: { drop?: boolean }): void;
}

export interface HoldRule {
  match: (req: RequestInfo) => boolean;
  when: 'before' | 'after';
}

export interface CountingHttpProxy {
  url: string;
  port: number;
  counts: HttpCounts;
  reset(): void;
  /** 'refuse' drops connections (like a host that is down), 'unavailable' answers 503 (like an outage page). */
  setMode(mode: ProxyMode): void;
  hold(rule: HoldRule): Hold;
  close(): Promise<void>;
}

function makeHold(): Hold & { engage(onRelease: (drop: boolean) => void): void } {
  let engagedResolve!: () => void;
  const engaged = new Promise<void>((r) => (engagedResolve = r));
  let onRelease: ((drop: boolean) => void) | undefined;
  let released: boolean | undefined;
  let isEngaged = false;
  return {
    engaged,
    isEngaged: () => isEngaged,
    engage(fn) {
      isEngaged = true;
      onRelease = fn;
      engagedResolve();
      if (released !== undefined) fn(released);
    },
    release(opts = {}) {
      released = Boolean(opts.drop);
      onRelease?.(released);
    },
  };
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
  const rules: { rule: HoldRule; hold: ReturnType<typeof makeHold> }[] = [];

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
      // S3 bodies are object data (megabytes); only IAM and STS carry form parameters.
      const form = new URLSearchParams(service === 's3' ? '' : body.toString('utf8'));
      const op =
        service === 's3' ? s3Operation(req.method ?? 'GET', url) : (form.get('Action') ?? url.searchParams.get('Action') ?? req.method ?? 'UNKNOWN');
      counts.requests++;
      counts.byOperation[`${service} ${req.method} ${op}`] = (counts.byOperation[`${service} ${req.method} ${op}`] ?? 0) + 1;
      counts.requestBytes += body.length;
      const info: RequestInfo = { service, op, method: req.method ?? 'GET', path: decodeURIComponent(url.pathname), query: Object.fromEntries(url.searchParams), body: [...form].map(([k, v]) => `${k}=${v}`).join('&') };
      const i = rules.findIndex((r) => r.rule.match(info));
      const held = i >= 0 ? rules.splice(i, 1)[0] : undefined;
      const forward = (onResponse: (send: () => void) => void) => {
        const up = http.request(
          { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (upRes) => {
            const chunks: Buffer[] = [];
            upRes.on('data', (c: Buffer) => {
              chunks.push(c);
              counts.responseBytes += c.length;
              if (service === 's3' && op === 'GetObject') counts.s3ObjectBytesRead += c.length;
            });
            upRes.on('end', () =>
              onResponse(() => {
                if (res.destroyed || res.socket?.destroyed) return;
                res.writeHead(upRes.statusCode ?? 502, upRes.headers);
                res.end(Buffer.concat(chunks));
              }),
            );
          },
        );
        up.on('error', () => res.destroy());
        up.end(body);
      };
      if (!held) return forward((send) => send());
      if (held.rule.when === 'before') {
        held.hold.engage((drop) => (drop ? req.socket.destroy() : forward((send) => send())));
      } else {
        forward((send) => held.hold.engage((drop) => (drop ? req.socket.destroy() : send())));
      }
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
    hold(rule) {
      const hold = makeHold();
      rules.push({ rule, hold });
      return hold;
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
  /**
   * Parks the connection whose client sends a chunk containing `text` (pg sends a simple query's SQL as plain
   * text): 'before' holds that chunk, 'after' forwards it and holds what the server answers.
   */
  hold(rule: TcpHoldRule): Hold;
  /** Cuts every open connection now, as a network failure would. */
  dropConnections(): void;
  close(): Promise<void>;
}

export interface TcpHoldRule {
  text: string;
  when: 'before' | 'after';
  /** Let this many matching chunks pass first (e.g. the same catalog query run by an earlier step). */
  skip?: number;
}

/** A byte-counting TCP relay, e.g. between the worker and Materialize (pg wire). */
export async function startCountingTcpProxy(targetHost: string, targetPort: number, port = 0): Promise<CountingTcpProxy> {
  let counts: TcpCounts = { connections: 0, bytesToServer: 0, bytesFromServer: 0 };
  let mode: 'pass' | 'refuse' = 'pass';
  const pairs = new Set<[net.Socket, net.Socket]>();
  const tcpRules: { rule: TcpHoldRule; hold: ReturnType<typeof makeHold>; seen: number }[] = [];
  const server = net.createServer((client) => {
    if (mode === 'refuse') return client.destroy();
    counts.connections++;
    // No Nagle on either leg: a relay that batches small writes adds a delayed-ACK wait (about 40 ms) to a
    // request/response exchange that pg's own socket (noDelay) never has, and the bench would time the relay.
    client.setNoDelay(true);
    const upstream = net.connect({ host: targetHost, port: targetPort, noDelay: true });
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    let holdToServer: Buffer[] | undefined;
    let holdFromServer: Buffer[] | undefined;
    client.on('data', (c: Buffer) => {
      counts.bytesToServer += c.length;
      if (holdToServer) return void holdToServer.push(c);
      const i = tcpRules.findIndex((r) => c.includes(r.rule.text) && r.seen++ >= (r.rule.skip ?? 0));
      if (i >= 0) {
        const { rule, hold } = tcpRules.splice(i, 1)[0];
        if (rule.when === 'before') {
          holdToServer = [c];
          hold.engage((drop) => {
            if (drop) return end();
            const pending = holdToServer!;
            holdToServer = undefined;
            for (const p of pending) upstream.write(p);
          });
          return;
        }
        holdFromServer = [];
        hold.engage((drop) => {
          if (drop) return end();
          const pending = holdFromServer!;
          holdFromServer = undefined;
          for (const p of pending) if (!client.destroyed) client.write(p);
        });
      }
      upstream.write(c);
    });
    upstream.on('data', (c: Buffer) => {
      counts.bytesFromServer += c.length;
      if (holdFromServer) return void holdFromServer.push(c);
      if (!client.destroyed) client.write(c);
    });
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
    hold(rule) {
      const hold = makeHold();
      tcpRules.push({ rule, hold, seen: 0 });
      return hold;
    },
    close: () =>
      new Promise<void>((resolve) => {
        dropConnections();
        server.close(() => resolve());
      }),
  };
}
