/**
 * Schedules: `schedules apply` of a file with N definitions (applyFile, the code the CLI runs: the apply lock, plan,
 * apply), then, once the schedule list shows them all (the list lags writes; the wait is reported), the same file again
 * (nothing to change), timing each and counting the Temporal calls it made.
 */
import { validateScheduleDocument } from '../client/schedules/file';
import { digestOf } from '../client/schedules/digest';
import { applyFile, DEFAULT_CONCURRENCY, entryDigest } from '../client/schedules/reconcile';
import { scheduleIdFor } from '../client/schedules/model';
import { sleep } from '../local/processes';
import type { BenchEnv } from './bench-env';
import type { BenchTarget } from './setup';
import { round } from './stats';

export interface SchedulesPass {
  planSeconds: number;
  applySeconds: number;
  created: number;
  updated: number;
  unchanged: number;
  temporalCalls: number;
  callsByRpc: Record<string, number>;
}

export interface SchedulesResult {
  definitions: number;
  concurrency: number;
  first: SchedulesPass;
  /** From the end of the first apply until ListSchedules showed every schedule with its digest. */
  listCaughtUpSeconds: number;
  reapply: SchedulesPass;
}

export async function benchSchedules(
  env: BenchEnv,
  target: BenchTarget,
  opts: { definitions: number; concurrency?: number; log: (s: string) => void },
): Promise<SchedulesResult> {
  const scheduleSet = `bench-${process.pid}`;
  const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
  // As `schedules apply` plans: entries the list does not show are created, not described first.
  const reconcile = { defaultTaskQueue: env.taskQueue, concurrency, describeUnlisted: false };
  const file = validateScheduleDocument({
    scheduleSet,
    defaults: { connectionName: target.connectionName, bucket: target.bucket, prefix: target.prefix, format: 'parquet', overlap: 'skip' },
    exports: Array.from({ length: opts.definitions }, (_, i) => ({
      name: `bench-sched-${process.pid}-${String(i).padStart(5, '0')}`,
      object: `table_${i % 50}`,
      // Once a year at a minute that does not come during the run: the bench measures apply, not fires.
      cron: `${i % 60} 4 1 1 *`,
    })),
  });
  const pass = async (label: string): Promise<SchedulesPass> => {
    env.temporal.reset();
    // applyFile is `schedules apply`: the set's apply lock, the plan (after a wait for the list to show what the last
    // apply left, when it follows one within 30 s), the changes. "plan" below is the lock and the plan.
    const t0 = performance.now();
    let t1 = t0;
    const { result: applied } = await applyFile(env.temporal.client, file, reconcile, { onPlan: () => (t1 = performance.now()) });
    const t2 = performance.now();
    const result = {
      planSeconds: round((t1 - t0) / 1000, 2),
      applySeconds: round((t2 - t1) / 1000, 2),
      created: applied.created.length,
      updated: applied.updated.length,
      unchanged: applied.unchanged.length,
      temporalCalls: env.temporal.total(),
      callsByRpc: { ...env.temporal.calls },
    };
    opts.log(`schedules: ${label}: plan ${result.planSeconds} s, apply ${result.applySeconds} s, ${result.temporalCalls} Temporal calls`);
    return result;
  };
  // The bench's stack is its own and removed at the end, so the schedules are not deleted one by one here (the
  // cron fires once a year; nothing runs meanwhile).
  const first = await pass(`first apply of ${opts.definitions}, ${concurrency} calls at once`);
  const t0 = performance.now();
  await waitUntilListed(env, new Map(file.entries.map((e) => [scheduleIdFor(e.name), entryDigest(e, env.taskQueue)])));
  const listCaughtUpSeconds = round((performance.now() - t0) / 1000, 1);
  opts.log(`schedules: the list showed all ${opts.definitions} with their digests after ${listCaughtUpSeconds} s`);
  const reapply = await pass('re-apply, nothing changed');
  return { definitions: opts.definitions, concurrency, first, listCaughtUpSeconds, reapply };
}

async function waitUntilListed(env: BenchEnv, want: Map<string, string>): Promise<void> {
  for (const deadline = Date.now() + 600_000; Date.now() < deadline; await sleep(1000)) {
    let ok = 0;
    for await (const s of env.temporal.client.schedule.list({ pageSize: 1000 })) if (want.get(s.scheduleId) === digestOf(s)) ok++;
    if (ok === want.size) return;
  }
  throw new Error(`the schedule list did not show all ${want.size} schedules within 10 minutes`);
}
