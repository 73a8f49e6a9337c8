/**
 * Completion detection: for M exports run one after another, the time from Materialize deleting its
 * `mz-<id>-INCOMPLETE` sentinel (seen by a watcher listing the attempt folder every few milliseconds, straight
 * against moto) to the worker acting on it (the server's start time of finishExportAttempt, whose first listing
 * finds the export complete: `polls` = 1), the S3 requests the worker spent per export, and what each export costs
 * Temporal (history events, billable actions).
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { tsToMs } from '@temporalio/common/lib/time';
import { attemptKey } from '../common/export/paths';
import type { BenchEnv } from './bench-env';
import { historyCosts, type HistoryCosts } from './history-costs';
import type { BenchTarget } from './setup';
import { median, quantile, round } from './stats';
import { bulkExport } from '../workflows';

export interface CompletionResult {
  exports: number;
  rows: number;
  watcherIntervalMs: number;
  latenciesMs: number[];
  p50Ms: number;
  p95Ms: number;
  /** finishExportAttempt's polls per export (1 = the first look found it done). */
  medianPolls: number;
  s3RequestsPerExport: { median: number; min: number; max: number; byOperation: Record<string, number> };
  temporalServerEventsPerExport: number;
  /** The last export's history: events, billable actions by kind, payload bytes. */
  temporalCosts?: HistoryCosts;
}

export async function benchCompletion(
  env: BenchEnv,
  target: BenchTarget,
  opts: { table: string; rows: number; exports: number; watcherIntervalMs: number; log: (s: string) => void },
): Promise<CompletionResult> {
  const latencies: number[] = [];
  const polls: number[] = [];
  const requests: number[] = [];
  const events: number[] = [];
  let byOperation: Record<string, number> = {};
  let costs: HistoryCosts | undefined;
  const base = Date.UTC(2031, 0, 1);

  for (let i = 1; i <= opts.exports; i++) {
    const logicalTime = new Date(base + i * 60_000).toISOString();
    const key = attemptKey({ bucket: target.bucket, prefix: target.prefix, exportName: 'completion' }, logicalTime, 1);
    const watcher = watchSentinel(env, target.bucket, key, opts.watcherIntervalMs);
    env.s3Proxy.reset();
    const workflowId = `bench-completion-${process.pid}-${i}`;
    await env.temporal.client.workflow.execute(bulkExport, {
      taskQueue: env.taskQueue,
      workflowId,
      args: [
        {
          exportName: 'completion',
          connectionName: target.connectionName,
          object: opts.table,
          bucket: target.bucket,
          prefix: target.prefix,
          format: 'parquet',
          logicalTime,
        },
      ],
      workflowExecutionTimeout: '10 minutes',
    });
    const deletedAt = await watcher.stop();
    requests.push(env.s3Proxy.counts.requests);
    byOperation = { ...env.s3Proxy.counts.byOperation };
    const history = await env.temporal.client.workflow.getHandle(workflowId).fetchHistory();
    const evs = history.events ?? [];
    events.push(evs.length);
    costs = historyCosts(evs);
    const finishScheduled = evs.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'finishExportAttempt');
    const byScheduled = (attr: 'activityTaskStartedEventAttributes' | 'activityTaskCompletedEventAttributes') =>
      finishScheduled ? evs.find((e) => e[attr] && String(e[attr]!.scheduledEventId) === String(finishScheduled.eventId)) : undefined;
    const finishStarted = byScheduled('activityTaskStartedEventAttributes');
    const result = byScheduled('activityTaskCompletedEventAttributes')?.activityTaskCompletedEventAttributes?.result?.payloads?.[0]?.data;
    if (result) polls.push(JSON.parse(Buffer.from(result).toString('utf8')).polls);
    if (deletedAt === undefined || !finishStarted) {
      opts.log(`completion: export ${i}: the watcher did not see the sentinel go (too fast for ${opts.watcherIntervalMs} ms polling); skipped`);
      continue;
    }
    // The activity lists the folder as it starts; with the COPY's tag back the sentinel is normally gone already
    // (a negative latency: the worker acted on a completion it did not have to wait for).
    const latency = tsToMs(finishStarted.eventTime) - deletedAt;
    latencies.push(latency);
    opts.log(`completion: export ${i}: ${Math.round(latency)} ms, ${env.s3Proxy.counts.requests} S3 requests`);
  }
  return {
    exports: opts.exports,
    rows: opts.rows,
    watcherIntervalMs: opts.watcherIntervalMs,
    latenciesMs: latencies.map((l) => Math.round(l)),
    p50Ms: Math.round(median(latencies)),
    p95Ms: Math.round(quantile(latencies, 0.95)),
    medianPolls: median(polls),
    s3RequestsPerExport: { median: median(requests), min: Math.min(...requests), max: Math.max(...requests), byOperation },
    temporalServerEventsPerExport: round(median(events), 0),
    temporalCosts: costs,
  };
}

/** Lists the attempt folder every intervalMs; stop() gives the first time the sentinel was seen gone (ms epoch). */
function watchSentinel(env: BenchEnv, bucket: string, key: string, intervalMs: number): { stop(): Promise<number | undefined> } {
  let lastSeenAt: number | undefined;
  let deletedAt: number | undefined;
  let running = true;
  const loop = (async () => {
    while (running && deletedAt === undefined) {
      const before = Date.now();
      const res = await env.aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${key}/` })).catch(() => undefined);
      const keys = (res?.Contents ?? []).map((o) => o.Key ?? '');
      const sentinel = keys.some((k) => /\/mz-[^/]+-INCOMPLETE$/.test(k));
      if (sentinel) lastSeenAt = before;
      // Gone after having been there: it went between the last listing that saw it and this one; take the middle.
      else if (lastSeenAt !== undefined) deletedAt = (lastSeenAt + before) / 2;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return deletedAt;
    },
  };
}
