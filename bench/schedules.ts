/**
 * Schedules: `schedules apply` of a file with N definitions (plan, then apply: the same code the CLI runs),
 * then the same file again (nothing to change), timing each and counting the Temporal calls it made.
 */
import { ScheduleNotFoundError } from '@temporalio/client';
import { validateScheduleDocument } from '../client/schedules/file';
import { applyPlan, planSchedules } from '../client/schedules/reconcile';
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
  first: SchedulesPass;
  reapply: SchedulesPass;
}

export async function benchSchedules(
  env: BenchEnv,
  target: BenchTarget,
  opts: { definitions: number; log: (s: string) => void },
): Promise<SchedulesResult> {
  const scheduleSet = `bench-${process.pid}`;
  const file = validateScheduleDocument({
    scheduleSet,
    defaults: { connectionName: target.connectionName, bucket: target.bucket, prefix: target.prefix, format: 'parquet', overlap: 'skip' },
    exports: Array.from({ length: opts.definitions }, (_, i) => ({
      name: `bench-sched-${process.pid}-${String(i).padStart(4, '0')}`,
      object: `table_${i % 50}`,
      // Once a year at a minute that does not come during the run: the bench measures apply, not fires.
      cron: `${i % 60} 4 1 1 *`,
    })),
  });
  const pass = async (label: string): Promise<SchedulesPass> => {
    env.temporal.reset();
    const t0 = performance.now();
    const plan = await planSchedules(env.temporal.client, file, { defaultTaskQueue: env.taskQueue });
    const t1 = performance.now();
    const applied = await applyPlan(env.temporal.client, plan, { defaultTaskQueue: env.taskQueue });
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
  try {
    const first = await pass('first apply');
    const reapply = await pass('re-apply, nothing changed');
    return { definitions: opts.definitions, first, reapply };
  } finally {
    // Not part of the measurement: remove them so the stack is clean.
    for (const e of file.entries) {
      await env.temporal.client.schedule
        .getHandle(`mz-s3-export:${e.name}`)
        .delete()
        .catch((err) => {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
        });
    }
  }
}
