/**
 * The worker's own Prometheus metrics (prom-client), served with the health endpoints (worker/http-server.ts).
 * The SDK's runtime metrics (task latencies, slots, pollers) are a separate Prometheus endpoint the SDK serves
 * itself (MZ_S3_EXPORT_SDK_METRICS_ADDRESS). Labels are export names, which the operator chooses: bounded.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { ExportOutcome } from '../workflows/export-outcome-interceptor';

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly lastPublication = new Map<string, number>();
  /** Per export or set: the newest logical time published (ms), and the Materialize timestamp it reflects. */
  private readonly newest = new Map<string, { logicalMs: number; materializeMs?: number }>();
  private readonly exports = new Counter({
    name: 'mz_s3_export_exports_total',
    help: 'bulkExport runs that ended on this worker, by export name and outcome (succeeded, failed, cancelled)',
    labelNames: ['export', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly rows = new Counter({
    name: 'mz_s3_export_published_rows_total',
    help: 'Rows in newly published exports (manifest + _SUCCESS written), by export name',
    labelNames: ['export'] as const,
    registers: [this.registry],
  });
  private readonly bytes = new Counter({
    name: 'mz_s3_export_published_bytes_total',
    help: 'Bytes of data files in newly published exports, by export name',
    labelNames: ['export'] as const,
    registers: [this.registry],
  });
  private readonly publishedAt = new Gauge({
    name: 'mz_s3_export_last_publication_timestamp_seconds',
    help: 'Unix time of the newest publication this worker made, by export name (alert on time() - max by export)',
    labelNames: ['export'] as const,
    registers: [this.registry],
  });
  private readonly newestLogicalTime = new Gauge({
    name: 'mz_s3_export_newest_logical_time_seconds',
    help: 'Logical time (Unix seconds) of the newest publication this worker made, by export or snapshot set name (backfills of older times do not lower it)',
    labelNames: ['export'] as const,
    registers: [this.registry],
  });
  private readonly newestMaterializeTimestamp = new Gauge({
    name: 'mz_s3_export_newest_materialize_timestamp_seconds',
    help: 'The Materialize timestamp (AS OF, Unix seconds on the EpochMilliseconds timeline) the newest publication reflects, by export or snapshot set name',
    labelNames: ['export'] as const,
    registers: [this.registry],
  });
  readonly ready = new Gauge({
    name: 'mz_s3_export_worker_ready',
    help: '1 while the worker is connected to Temporal and polling its task queue',
    registers: [this.registry],
  });

  constructor(now: () => number = Date.now) {
    const lastPublication = this.lastPublication;
    new Gauge({
      name: 'mz_s3_export_seconds_since_last_publication',
      help: 'Seconds since the newest publication this worker made, by export name: the freshness an alert fires on',
      labelNames: ['export'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [name, at] of lastPublication) this.set({ export: name }, Math.max(0, (now() - at) / 1000));
      },
    });
    const newest = this.newest;
    new Gauge({
      name: 'mz_s3_export_seconds_behind_schedule',
      help: 'Seconds from the newest published logical time to now, by export or snapshot set name: how far it lags its schedule (alert when above its interval plus a margin)',
      labelNames: ['export'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [name, n] of newest) this.set({ export: name }, Math.max(0, (now() - n.logicalMs) / 1000));
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'mz_s3_export_worker_' });
  }

  exportEnded(o: ExportOutcome, at = Date.now()): void {
    this.exports.inc({ export: o.exportName, outcome: o.outcome });
    if (!o.published) return;
    this.rows.inc({ export: o.exportName }, o.rows);
    this.bytes.inc({ export: o.exportName }, o.bytes);
    this.lastPublication.set(o.exportName, at);
    this.publishedAt.set({ export: o.exportName }, at / 1000);
    const logicalMs = o.logicalTime ? Date.parse(o.logicalTime) : NaN;
    if (Number.isNaN(logicalMs) || (this.newest.get(o.exportName)?.logicalMs ?? -Infinity) > logicalMs) return;
    // Materialize's EpochMilliseconds timeline: a timestamp is milliseconds since the epoch.
    const materializeMs = o.materializeTimestamp !== undefined ? Number(o.materializeTimestamp) : undefined;
    this.newest.set(o.exportName, { logicalMs, ...(materializeMs !== undefined ? { materializeMs } : {}) });
    this.newestLogicalTime.set({ export: o.exportName }, logicalMs / 1000);
    if (materializeMs !== undefined) this.newestMaterializeTimestamp.set({ export: o.exportName }, materializeMs / 1000);
  }
}
