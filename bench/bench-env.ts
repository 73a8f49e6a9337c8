/**
 * The benchmarks' own local stack (never the tests' or a running `stack up`): Temporal, moto and mz-local on
 * free ports, one worker process on its own task queue, and counting proxies between that worker and moto
 * (S3/IAM/STS requests and bytes) and between it and mz-local (pg bytes). mz-local talks to moto directly, so
 * the proxies see exactly what the worker sends and receives.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { createAwsClients, destroyAwsClients, type AwsClients } from '../platform/aws-clients';
import { stackEnv, startStack, stopStack, PROJECT_ROOT, type StackInfo } from '../local/stack';
import { startWorkerProcess, type WorkerProcess } from '../test/helpers/worker-process';
import {
  startCountingHttpProxy,
  startCountingTcpProxy,
  type CountingHttpProxy,
  type CountingTcpProxy,
} from '../test/reliability/support/proxies';
import { countedTemporalClient, type CountedClient } from './temporal-calls';

export interface BenchEnv {
  info: StackInfo;
  dir: string;
  taskQueue: string;
  worker: WorkerProcess;
  /** Worker -> moto. */
  s3Proxy: CountingHttpProxy;
  /** Worker -> mz-local. */
  pgProxy: CountingTcpProxy;
  temporal: CountedClient;
  /** Direct to moto, for the bench's own listing and checks (not counted). */
  aws: AwsClients;
  /** A fresh pg client straight to mz-local (not through the proxy); the caller ends it. */
  mz(): Promise<PgClient>;
  close(): Promise<void>;
}

export async function startBenchEnv(opts: { log: (line: string) => void }): Promise<BenchEnv> {
  // The bench's own AWS clients talk to moto, which takes any key; the default chain needs one to be set.
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  const dir = path.join(PROJECT_ROOT, '.local', `bench-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  opts.log(`starting the bench stack in ${dir}`);
  const info = await startStack({ dir, randomPorts: true, mzLocalArgs: [] });
  const closers: (() => Promise<void>)[] = [() => stopStack(info)];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    // The numbers are in bench/results; logs and data are kept only when asked.
    if (!process.env.MZ_S3_EXPORT_KEEP_TEST_STATE) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const mzPort = Number(new URL(info.mzUrl).port);
    const s3Proxy = await startCountingHttpProxy(info.awsEndpoint);
    closers.push(() => s3Proxy.close());
    const pgProxy = await startCountingTcpProxy('127.0.0.1', mzPort);
    closers.push(() => pgProxy.close());
    const taskQueue = `mz-s3-export-bench-${process.pid}`;
    const env = {
      ...stackEnv(info),
      TEMPORAL_TASK_QUEUE: taskQueue,
      AWS_ENDPOINT_URL: s3Proxy.url,
      MZ_URL: `postgres://materialize@127.0.0.1:${pgProxy.port}/materialize`,
      // Node flags for the worker only (e.g. --max-old-space-size=160 for the sizing runs in docs/benchmarks.md).
      ...(process.env.BENCH_WORKER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_WORKER_NODE_OPTIONS } : {}),
    };
    const worker = await startWorkerProcess(env, { logDir: path.join(dir, 'logs'), name: 'bench-worker' });
    closers.push(() => worker.stop());
    const temporal = await countedTemporalClient(info.temporalAddress);
    closers.push(() => temporal.connection.close());
    const aws = createAwsClients({ region: 'us-east-1', endpoint: info.awsEndpoint });
    closers.push(async () => destroyAwsClients(aws));
    return {
      info,
      dir,
      taskQueue,
      worker,
      s3Proxy,
      pgProxy,
      temporal,
      aws,
      async mz() {
        const c = new PgClient({ connectionString: info.mzUrl });
        await c.connect();
        return c;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Resident set size now and its peak (VmHWM) of a Linux process, in bytes; undefined elsewhere. */
export function processMemory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every intervalMs until stopped; returns the highest sample. */
export function sampleMemory(pid: number, intervalMs = 100): { stop(): number } {
  let max = processMemory(pid)?.rss ?? NaN;
  const timer = setInterval(() => {
    const m = processMemory(pid);
    if (m && !(m.rss <= max)) max = m.rss;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return max;
    },
  };
}
