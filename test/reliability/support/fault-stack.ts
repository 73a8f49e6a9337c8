/**
 * The fault suite's own local stack, separate from the shared one because it restarts its parts: a Temporal dev
 * server with file persistence (stopped and started again on the same port and database), moto behind a proxy
 * that can hold requests or refuse connections (moto keeps its state in memory, so it is never stopped), mz-local
 * (stopped and started again on the same port and data directory; it reaches moto through the same proxy), and
 * a worker process that can be killed with SIGKILL and started again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Client as PgClient } from 'pg';
import { createAwsClients, destroyAwsClients, type AwsClients } from '../../../platform/aws-clients';
import { dataConverterFromEnv } from '../../../platform/payload-codec';
import { freePort, stopProcessGroup, type StartedProcess } from '../../../local/processes';
import { PROJECT_ROOT, startMoto, startMzLocal, startTemporal } from '../../../local/stack';
import { startWorkerProcess, type WorkerProcess } from '../../helpers/worker-process';
import { startCountingHttpProxy, startCountingTcpProxy, type CountingHttpProxy, type CountingTcpProxy } from './proxies';

export interface FaultStack {
  dir: string;
  taskQueue: string;
  temporal: Client;
  /** Straight to moto (not through the proxy): what is really there. */
  aws: AwsClients;
  /** Worker and mz-local -> moto. */
  awsProxy: CountingHttpProxy;
  /** Worker -> mz-local. */
  pgProxy: CountingTcpProxy;
  /** A pg client straight to mz-local; the caller ends it. */
  mz(): Promise<PgClient>;
  /** SET or RESET an mz-local fault knob. */
  knob(name: string, value?: string | number | boolean): Promise<void>;
  worker(): WorkerProcess;
  killWorker(): Promise<void>;
  startWorker(): Promise<void>;
  restartTemporal(): Promise<void>;
  stopMzLocal(): Promise<void>;
  startMzLocal(): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultStack(): Promise<FaultStack> {
  // The test's own AWS clients talk to moto, which takes any key; the default chain needs one to be set.
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  const dir = path.join(PROJECT_ROOT, '.local', `faults-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const logDir = path.join(dir, 'logs');
  const procs: { temporal?: StartedProcess; moto?: StartedProcess; mz?: StartedProcess } = {};
  const closers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    for (const p of [procs.mz, procs.temporal, procs.moto]) if (p) await stopProcessGroup(p.pid);
    // Logs and data are kept only when asked, as for the shared test stack.
    if (!process.env.MZ_S3_EXPORT_KEEP_TEST_STATE) fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports = { grpc: await freePort(), ui: await freePort(), moto: await freePort(), mz: await freePort() };
    const moto = await startMoto(dir, ports.moto);
    procs.moto = moto.proc;
    const awsProxy = await startCountingHttpProxy(moto.endpoint);
    closers.push(() => awsProxy.close());
    const temporal = await startTemporal(dir, ports, { persist: true });
    procs.temporal = temporal.proc;
    const mzArgs = { args: ['--sample-data'] };
    procs.mz = (await startMzLocal(dir, ports.mz, awsProxy.url, mzArgs)).proc;
    const pgProxy = await startCountingTcpProxy('127.0.0.1', ports.mz);
    closers.push(() => pgProxy.close());
    const mzUrl = `postgres://materialize@127.0.0.1:${ports.mz}/materialize`;

    const taskQueue = `faults-${process.pid}`;
    const env = {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: taskQueue,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: awsProxy.url,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      MZ_URL: `postgres://materialize@127.0.0.1:${pgProxy.port}/materialize`,
    };
    let worker = await startWorkerProcess(env, { logDir, name: 'fault-worker' });
    closers.push(() => worker.stop());
    const connection = await Connection.connect({ address: temporal.address });
    closers.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterFromEnv() });
    const aws = createAwsClients({ region: 'us-east-1', endpoint: moto.endpoint });
    closers.push(async () => destroyAwsClients(aws));

    const mz = async () => {
      const c = new PgClient({ connectionString: mzUrl });
      await c.connect();
      return c;
    };
    return {
      dir,
      taskQueue,
      temporal: client,
      aws,
      awsProxy,
      pgProxy,
      mz,
      async knob(name, value) {
        const c = await mz();
        try {
          await c.query(value === undefined ? `ALTER SYSTEM RESET ${name}` : `ALTER SYSTEM SET ${name} = ${typeof value === 'string' ? `'${value}'` : value}`);
        } finally {
          await c.end();
        }
      },
      worker: () => worker,
      killWorker: () => worker.kill(),
      async startWorker() {
        worker = await startWorkerProcess(env, { logDir, name: 'fault-worker' });
      },
      async restartTemporal() {
        await stopProcessGroup(procs.temporal!.pid);
        procs.temporal = (await startTemporal(dir, ports, { persist: true })).proc;
      },
      async stopMzLocal() {
        pgProxy.dropConnections();
        await stopProcessGroup(procs.mz!.pid);
        procs.mz = undefined;
      },
      async startMzLocal() {
        procs.mz = (await startMzLocal(dir, ports.mz, awsProxy.url, mzArgs)).proc;
      },
      close: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** Polls until check returns a value (not undefined), or fails after timeoutMs naming what it waited for. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}
