/**
 * The worker's HTTP endpoint (MZ_S3_EXPORT_HTTP_ADDRESS, e.g. 0.0.0.0:9464): /metrics (the worker's Prometheus
 * metrics), /healthz (alive: the worker has not failed or stopped) and /readyz (ready: polling its task queue and
 * Temporal answers a health check). Kubernetes probes and the compose healthcheck use these.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkerMetrics } from './metrics';

export interface WorkerProbe {
  /** The SDK's worker state: INITIALIZED, RUNNING, STOPPING, DRAINING, DRAINED, STOPPED, FAILED. */
  state(): string;
  /** Resolves when Temporal answers its gRPC health check. */
  temporalHealthy(): Promise<void>;
}

export async function startHttpServer(address: string, metrics: WorkerMetrics, probe: WorkerProbe): Promise<{ url: string; close(): Promise<void> }> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(i + 1));
  const json = (res: http.ServerResponse, status: number, body: object) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = http.createServer(async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
      } else if (path === '/healthz') {
        const state = probe.state();
        json(res, ['FAILED', 'STOPPED'].includes(state) ? 503 : 200, { state });
      } else if (path === '/readyz') {
        const state = probe.state();
        if (state !== 'RUNNING') return json(res, 503, { ready: false, state });
        const temporal = await withTimeout(probe.temporalHealthy(), 3000).then(
          () => undefined,
          (e: Error) => e.message,
        );
        metrics.ready.set(temporal ? 0 : 1);
        json(res, temporal ? 503 : 200, temporal ? { ready: false, state, temporal } : { ready: true, state });
      } else json(res, 404, { error: 'not found; try /metrics, /healthz or /readyz' });
    } catch (e) {
      json(res, 500, { error: (e as Error).message });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    url: `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}
