/**
 * `npm run demo`: the whole path on a local stack, in a minute or two. Starts the Temporal dev server (with its
 * Web UI), moto and mz-local with sample data, plus a worker; onboards an AWS connection; exports the sample
 * data as CSV and as Parquet; applies examples/schedules.yaml; triggers one schedule and waits for its export;
 * prints the S3 objects, a manifest and the Web UI links; then stops everything it started (or, with --keep,
 * leaves it running and says how to stop it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Client, Connection, WorkflowFailedError, type Workflow, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import { bulkExport, onboardAwsConnection } from '../../workflows';
import { createAwsClients, destroyAwsClients } from '../../platform/aws-clients';
import { loadConfig } from '../../platform/config';
import type { BulkExportInput, BulkExportResult, ExportProgress } from '../../common/export/types';
import type { OnboardInput } from '../../common/onboarding/types';
import type { OnboardResult, StepProgress } from '../../common/onboarding/progress';
import { dataConverterFromEnv } from '../../platform/payload-codec';
import { parseScheduleFile } from '../schedules/file';
import { isAlive, isPortOpen, stopProcessGroup, tailFile, waitUntil, type StartedProcess } from '../../local/processes';
import {
  clearStackState,
  defaultStackDir,
  loadStackState,
  PROJECT_ROOT,
  saveStackState,
  spawnWorker,
  stackEnv,
  startStack,
  stopStack,
  type StackInfo,
} from '../../local/stack';
import { expectPositionals, type OptionSpecs, type ParsedArgs } from '../args';
import { formatPlan } from '../schedules/format';
import { applyFile } from '../schedules/reconcile';
import { triggerSchedule } from '../schedules/operations';
import { describeProgress, formatRunFailure, resultWithProgress, runFailure } from '../follow';

export const usage = `demo [--keep] [--random-ports]                             the whole path on a local stack in a few minutes (npm run demo)`;

/** Names the demo uses; examples/schedules.yaml uses the same connection, bucket and prefix. */
export const DEMO = {
  taskQueue: 'mz-s3-export-demo',
  bucket: 'mz-s3-export-demo',
  prefix: 'exports',
  connectionName: 'demo_s3',
  roleName: 'mz-s3-export-demo',
  policyName: 'mz-s3-export-demo-s3',
  scheduleFile: path.join(PROJECT_ROOT, 'examples', 'schedules.yaml'),
  /** The schedule the demo triggers once. */
  triggered: 'orders-daily',
  /** mz-local --sample-data: a table public.orders, a view public.order_totals, a materialized view public.large_orders. */
  csv: { exportName: 'demo-orders-csv', object: 'public.orders' },
  parquet: { exportName: 'demo-large-orders-parquet', object: 'public.large_orders' },
} as const;

const STEPS = 8;
let stepNo = 0;
const step = (text: string) => console.log(`\n[demo ${++stepNo}/${STEPS}] ${text}`);
const detail = (text: string) => console.log(`    ${text}`);

export const options: OptionSpecs = {
  keep: { type: 'boolean', help: 'leave the stack and the worker running afterwards' },
  'random-ports': { type: 'boolean', help: 'use free ports instead of the standard ones' },
};

export async function run(args: ParsedArgs): Promise<void> {
  expectPositionals(args, 1, 'demo takes only options');
  const keep = Boolean(args.flags.keep);
  const began = Date.now();
  let stack: StackInfo | undefined;
  let worker: StartedProcess | undefined;
  let connection: Connection | undefined;
  // Ctrl-C at any point stops what the demo started: a stack still starting stops the servers it spawned
  // itself (startStack's signal), the worker is known from its spawn on.
  const interrupted = new AbortController();
  let startingStack: Promise<unknown> | undefined;
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    await connection?.close().catch(() => undefined);
    if (keep && !interrupted.signal.aborted) return;
    // A stack still starting stops its own servers when aborted; one that just finished starting is stopped here.
    const started = stack ?? ((await startingStack?.catch(() => undefined)) as StackInfo | undefined);
    if (worker) await stopProcessGroup(worker.pid, 15_000);
    if (started) {
      await stopStack(started);
      if (keep) clearStackState(started.dir);
    }
  };
  const onSignal = () => {
    console.log('\n[demo] interrupted; stopping what it started...');
    interrupted.abort();
    void stopAll().finally(() => {
      console.log('[demo] stopped.');
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    step('Starting the local stack: Temporal dev server with its Web UI, moto (S3, IAM, STS), mz-local with sample data');
    startingStack = startDemoStack(keep, Boolean(args.flags['random-ports']), interrupted.signal);
    stack = (await startingStack) as StackInfo;
    Object.assign(process.env, stackEnv(stack), { TEMPORAL_TASK_QUEUE: DEMO.taskQueue });
    detail(`Temporal ${stack.temporalAddress}, Web UI ${stack.temporalUiUrl}, moto ${stack.awsEndpoint}, mz-local ${stack.mzUrl}`);

    step(`Starting a worker on task queue ${DEMO.taskQueue}`);
    worker = await startDemoWorker(stack, keep, interrupted.signal, (spawned) => (worker = spawned));
    detail(`pid ${worker.pid}, log ${worker.logFile}`);

    connection = await Connection.connect({ address: stack.temporalAddress });
    const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterFromEnv() });

    step(`Onboarding: bucket ${DEMO.bucket}, IAM policy and role, Materialize connection ${DEMO.connectionName}, validated`);
    const onboardInput: OnboardInput = {
      bucket: DEMO.bucket,
      prefix: DEMO.prefix,
      roleName: DEMO.roleName,
      policyName: DEMO.policyName,
      connectionName: DEMO.connectionName,
    };
    const onboarded = await runWithProgress(
      client,
      onboardAwsConnection,
      `demo-onboard-${DEMO.connectionName}`,
      onboardInput,
      (p: StepProgress) => describeProgress(p),
    ) as OnboardResult; // an AWS input: the AWS result
    detail(`role ${onboarded.roleArn}, external ID ${onboarded.externalId}`);

    step('Exporting the sample data, once as CSV and once as Parquet');
    const exports: BulkExportResult[] = [];
    for (const [format, spec] of [['csv', DEMO.csv], ['parquet', DEMO.parquet]] as const) {
      const input: BulkExportInput = {
        exportName: spec.exportName,
        connectionName: DEMO.connectionName,
        object: spec.object,
        bucket: DEMO.bucket,
        prefix: DEMO.prefix,
        format,
        ...(format === 'csv' ? { csvHeader: true } : {}),
      };
      const result = await runWithProgress(client, bulkExport, `${spec.exportName}-${Date.now()}`, input, exportLine);
      detail(`${spec.object} → ${result.rows} rows in ${result.files} ${format} file(s), ${result.bytes} bytes; manifest ${result.manifest}`);
      exports.push(result);
    }

    step(`Applying ${path.relative(process.cwd(), DEMO.scheduleFile) || DEMO.scheduleFile}`);
    const file = parseScheduleFile(fs.readFileSync(DEMO.scheduleFile, 'utf8'), 'examples/schedules.yaml');
    const opts = { defaultTaskQueue: DEMO.taskQueue };
    // As `schedules apply` does it: under the set's apply lock.
    await applyFile(client, file, opts, { onPlan: (plan) => console.log(formatPlan(plan).replace(/^/gm, '    ')), onStep: (line) => detail(line) });

    step(`Triggering schedule ${DEMO.triggered} once and waiting for its export`);
    const workflowId = await triggerSchedule(client, DEMO.triggered);
    if (!workflowId) throw new Error(`schedule ${DEMO.triggered} did not start a run`);
    detail(`started ${workflowId}`);
    const fired = await followRun<BulkExportResult>(client.workflow.getHandle(workflowId), exportLine);
    detail(`logical time ${fired.logicalTime}: ${fired.rows} rows in ${fired.files} file(s) at ${fired.outputPath}`);

    step(`What is in s3://${DEMO.bucket}/${DEMO.prefix}/, and one manifest`);
    await printObjectsAndManifest(fired.manifestKey);

    step('The Temporal Web UI');
    const ui = stack.temporalUiUrl;
    detail(`runs:        ${ui}/namespaces/default/workflows`);
    detail(`this run:    ${ui}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
    detail(`schedules:   ${ui}/namespaces/default/schedules`);
    detail(`filter runs of one export there with:  MzExportName = '${DEMO.triggered}'`);
    detail(`the CLI lists the same:  mz-s3-export runs --export ${DEMO.triggered}`);
    console.log(`\n[demo] done in ${Math.round((Date.now() - began) / 1000)} s.`);
    if (keep) {
      console.log('\nEverything is left running (--keep). Point the CLI at it with:');
      for (const [k, v] of Object.entries({ ...stackEnv(stack), TEMPORAL_TASK_QUEUE: DEMO.taskQueue })) console.log(`  export ${k}=${v}`);
      console.log(`Stop it with:\n  kill ${worker.pid}              # the worker\n  mz-s3-export stack down      # Temporal, moto, mz-local`);
    }
  } catch (e) {
    if (interrupted.signal.aborted) return; // the signal handler stops everything and exits
    console.error(`\n[demo] failed: ${(e as Error).message}`);
    if (worker) console.error(`--- last lines of the worker log (${worker.logFile}) ---\n${tailFile(worker.logFile, 15)}`);
    if (stack) console.error(`logs: ${path.join(stack.dir, 'logs')}`);
    process.exitCode = 1;
  } finally {
    if (interrupted.signal.aborted) return; // the signal handler owns the shutdown
    if (!keep) console.log('[demo] stopping the worker and the local stack...');
    await stopAll();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (!keep && stack && !process.exitCode) fs.rmSync(stack.dir, { recursive: true, force: true });
    if (!keep) console.log('[demo] stopped.');
  }
}

const STANDARD_PORTS = [7233, 8233, 5000, 6875];

async function startDemoStack(keep: boolean, randomPorts: boolean, signal: AbortSignal): Promise<StackInfo> {
  let dir = path.join(defaultStackDir(), `demo-${process.pid}`);
  if (keep) {
    // Kept stacks live where `stack down` looks for them.
    dir = defaultStackDir();
    const existing = loadStackState(dir);
    if (existing?.services.some((s) => isAlive(s.pid))) {
      throw new Error("a local stack from 'mz-s3-export stack up' is running; stop it with 'mz-s3-export stack down' or run the demo without --keep");
    }
  }
  const busy = (await Promise.all(STANDARD_PORTS.map((p) => isPortOpen('127.0.0.1', p)))).some(Boolean);
  if (busy && !randomPorts) detail('a standard port (7233, 8233, 5000 or 6875) is taken: using free ports instead');
  const info = await startStack({ dir, randomPorts: randomPorts || busy, mzLocalArgs: ['--sample-data'], detached: keep, signal });
  if (keep) saveStackState(info);
  return info;
}

async function startDemoWorker(
  stack: StackInfo,
  keep: boolean,
  signal: AbortSignal,
  onSpawn: (proc: StartedProcess) => void,
): Promise<StartedProcess> {
  const logDir = path.join(stack.dir, 'logs');
  const proc = spawnWorker('worker', { ...process.env, ...stackEnv(stack), TEMPORAL_TASK_QUEUE: DEMO.taskQueue }, { logDir, detached: keep });
  onSpawn(proc);
  await waitUntil('the worker', async () => fs.readFileSync(proc.logFile, 'utf8').includes('"worker started"'), {
    timeoutMs: 90_000,
    logFile: proc.logFile,
    exited: proc.exited,
    signal,
  });
  return proc;
}

function exportLine(p: ExportProgress): string {
  return `${p.phase}${p.attempt ? ` (attempt ${p.attempt})` : ''}: ${p.message}`;
}

async function runWithProgress<W extends Workflow>(
  client: Client,
  workflow: W,
  workflowId: string,
  input: Parameters<W>[0],
  line: (p: never) => string,
): Promise<Awaited<ReturnType<W>>> {
  const handle = await client.workflow.start(workflow, { taskQueue: DEMO.taskQueue, workflowId, args: [input] } as unknown as WorkflowStartOptions<W>); // TS cannot resolve the SDK's conditional options type for a generic W; `input` is checked against W's parameter above
  detail(`${workflow.name} ${workflowId}; input (the same JSON works in the Web UI's Start Workflow form):`);
  detail(`  ${JSON.stringify(input)}`);
  return followRun<Awaited<ReturnType<W>>>(handle, line);
}

/** Waits for the result, printing each new progress line from the `progress` query. */
async function followRun<T>(handle: WorkflowHandle, line: (p: never) => string): Promise<T> {
  try {
    return await resultWithProgress<T, never>(handle, { key: line, show: (_, text) => detail(`  ${text}`), intervalMs: 300 });
  } catch (e) {
    if (e instanceof WorkflowFailedError) throw new Error(formatRunFailure(runFailure(handle.workflowId, e)));
    throw e;
  }
}

async function printObjectsAndManifest(manifestKey: string): Promise<void> {
  const aws = createAwsClients(loadConfig().aws);
  try {
    let token: string | undefined;
    do {
      const page = await aws.s3.send(new ListObjectsV2Command({ Bucket: DEMO.bucket, Prefix: `${DEMO.prefix}/`, ContinuationToken: token }));
      for (const o of page.Contents ?? []) detail(`${String(o.Size).padStart(9)}  s3://${DEMO.bucket}/${o.Key}`);
      token = page.NextContinuationToken;
    } while (token);
    const body = await aws.s3.send(new GetObjectCommand({ Bucket: DEMO.bucket, Key: manifestKey }));
    const text = await body.Body!.transformToString();
    console.log(`\n    s3://${DEMO.bucket}/${manifestKey}:`);
    console.log(JSON.stringify(JSON.parse(text), null, 2).replace(/^/gm, '    '));
  } finally {
    destroyAwsClients(aws);
  }
}
