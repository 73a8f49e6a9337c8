/** What every benchmark needs on its stack: an onboarded AWS connection and a table of N rows in mz-local. */
import type { OnboardResult } from '../common/onboarding/progress';
import type { BenchEnv } from './bench-env';
import { onboardAwsConnection } from '../workflows';

export interface BenchTarget {
  bucket: string;
  prefix: string;
  connectionName: string;
  onboard: OnboardResult;
}

export async function onboardBenchConnection(env: BenchEnv): Promise<BenchTarget> {
  const target = { bucket: `mz-bench-${process.pid}`, prefix: 'bench', connectionName: 'bench_s3' };
  const onboard = await env.temporal.client.workflow.execute(onboardAwsConnection, {
    taskQueue: env.taskQueue,
    workflowId: `bench-onboard-${process.pid}`,
    args: [
      {
        ...target,
        roleName: `mz-bench-role-${process.pid}`,
        policyName: `mz-bench-policy-${process.pid}`,
        retry: { initialIntervalSeconds: 0.2, maximumIntervalSeconds: 1 },
        validationTimeoutSeconds: 60,
      },
    ],
    workflowExecutionTimeout: '3 minutes',
  });
  return { ...target, onboard: onboard as OnboardResult }; // an AWS input: the AWS result
}

/** Runs one statement on a fresh mz-local session (e.g. ALTER SYSTEM for its knobs). */
export async function runOnMzLocal(env: BenchEnv, sql: string): Promise<void> {
  const c = await env.mz();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/**
 * A table of `rows` rows (bigint, text, double, timestamp) built inside mz-local with generate_series, so no
 * row passes through this process either.
 */
export async function createRowsTable(env: BenchEnv, name: string, rows: number): Promise<void> {
  const c = await env.mz();
  try {
    await c.query(`DROP TABLE IF EXISTS ${name}`);
    await c.query(`CREATE TABLE ${name} (id bigint, name text, amount double precision, created_at timestamp)`);
    const chunk = 250_000;
    for (let start = 1; start <= rows; start += chunk) {
      const end = Math.min(rows, start + chunk - 1);
      await c.query(
        `INSERT INTO ${name} SELECT g, 'customer-' || g, g * 1.5, TIMESTAMP '2024-01-01 00:00:00' + g * INTERVAL '1 second' FROM generate_series(${start}, ${end}) AS g`,
      );
    }
    const n = Number((await c.query(`SELECT count(*) AS n FROM ${name}`)).rows[0].n);
    if (n !== rows) throw new Error(`${name} has ${n} rows, expected ${rows}`);
  } finally {
    await c.end();
  }
}
