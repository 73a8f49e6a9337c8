/**
 * One local stack (Temporal dev server, moto, mz-local) and one worker process shared by all integration
 * tests of a run, started on free ports the first time a suite asks for it and stopped by the root hook.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { createAwsClients, type AwsClients } from '../../platform/aws-clients';
import { loadConfig } from '../../platform/config';
import { dataConverterFromEnv } from '../../platform/payload-codec';
import { PROJECT_ROOT, stackEnv, startStack, stopStack, type StackInfo } from '../../local/stack';
import { startWorkerProcess, type WorkerProcess } from './worker-process';

export interface TestStack {
  info: StackInfo;
  /** The environment a worker or CLI needs to use this stack. */
  env: Record<string, string>;
  worker: WorkerProcess;
  temporal: Client;
  aws: AwsClients;
  taskQueue: string;
  logDir: string;
  /** A fresh pg client to mz-local; the caller ends it. */
  mz(): Promise<PgClient>;
}

let shared: Promise<TestStack> | undefined;
let connection: Connection | undefined;

export function sharedStack(): Promise<TestStack> {
  shared ??= start();
  return shared;
}

async function start(): Promise<TestStack> {
  const dir = path.join(PROJECT_ROOT, '.local', `test-${process.pid}`);
  const info = await startStack({ dir, randomPorts: true, mzLocalArgs: ['--sample-data'] });
  const env = { ...stackEnv(info), TEMPORAL_TASK_QUEUE: 'mz-s3-export-test' };
  Object.assign(process.env, env);
  const logDir = path.join(dir, 'logs');
  try {
    const worker = await startWorkerProcess(env, { logDir });
    connection = await Connection.connect({ address: info.temporalAddress });
    const config = loadConfig(env);
    return {
      info,
      env,
      worker,
      temporal: new Client({ connection, namespace: 'default', dataConverter: dataConverterFromEnv() }),
      aws: createAwsClients(config.aws),
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      logDir,
      async mz() {
        const c = new PgClient({ connectionString: info.mzUrl });
        await c.connect();
        return c;
      },
    };
  } catch (e) {
    await stopStack(info);
    throw e;
  }
}

export async function stopSharedStack(): Promise<void> {
  if (!shared) return;
  const stack = await shared.catch(() => undefined);
  shared = undefined;
  if (!stack) return;
  await stack.worker.stop();
  await connection?.close();
  await stopStack(stack.info);
  // Logs and data of a run are kept only when asked, so repeated runs do not pile up folders.
  if (!process.env.MZ_S3_EXPORT_KEEP_TEST_STATE) fs.rmSync(stack.info.dir, { recursive: true, force: true });
}
