/**
 * Workflow logic tested with stubbed activities: the real workflow code, bundled as the worker bundles it, runs on
 * a Temporal dev server started from the pinned binary (.venv/bin/temporal; nothing is downloaded), against
 * activities a test writes in a few lines. One worker serves every test of a run (a worker per test costs a
 * second to start and stop); each test's workflows carry its id in their workflow ids, which is how an activity
 * call finds that test's stubs and call log. What crosses a process boundary (S3, pg, IAM, a worker crash) is tested on
 * the real stack in test/integration and test/reliability.
 */
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { strict as assert } from 'node:assert';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type InjectedSinks, type WorkflowBundleOption } from '@temporalio/worker';
import type { Activities } from '../../common/activities';
import { MzConnection, MzExportName, MzLogicalTime } from '../../common/search-attributes';
import { PROJECT_ROOT } from '../../local/stack';
import { catalogFailuresInterceptor } from '../../worker/catalog-failures';
import { prebuiltBundle, WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../../worker/workflow-bundle';
import type { ExportOutcome, ExportOutcomeSinks } from '../../workflows/export-outcome-interceptor';

export type ActivityStubs = Partial<Activities>;

export interface ActivityCall {
  name: keyof Activities;
  input: unknown;
}

export interface WorkflowRun {
  /** Start the test's workflows with ids beginning with this (`${run.id}-export`): their activities use `stubs`. */
  id: string;
  taskQueue: string;
  /** The activity calls the test's workflows made, in order. */
  calls: ActivityCall[];
  /** bulkExport outcomes the workflow interceptor reported through its sink. */
  outcomes: ExportOutcome[];
}

const TASK_QUEUE = `workflow-tests-${process.pid}`;
let env: Promise<TestWorkflowEnvironment> | undefined;
let bundle: Promise<WorkflowBundleOption> | undefined;
let worker: Promise<{ worker: Worker; running: Promise<void> }> | undefined;
let tests = 0;
const registered = new Map<string, { stubs: ActivityStubs; run: WorkflowRun }>();

/** One dev server for every workflow suite of a run (stopped by the root hook in test/setup/stack-hooks.ts). */
export function workflowEnv(): Promise<TestWorkflowEnvironment> {
  env ??= startEnv();
  return env;
}

function startEnv(): Promise<TestWorkflowEnvironment> {
  // The workflows under test fail on purpose; the SDK's WARN line per failed run would bury the test report.
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } } });
  } catch {
    // another suite of this process installed the runtime first: keep its logger
  }
  return TestWorkflowEnvironment.createLocal({
    server: {
      log: { format: 'pretty', level: 'error' },
      executable: { type: 'existing-path', path: path.join(PROJECT_ROOT, '.venv', 'bin', 'temporal') },
      ip: '127.0.0.1',
      searchAttributes: [MzExportName, MzLogicalTime, MzConnection],
    },
  });
}

export async function stopWorkflowEnv(): Promise<void> {
  const w = await worker?.catch(() => undefined);
  worker = undefined;
  if (w) {
    w.worker.shutdown();
    await w.running.catch(() => undefined);
  }
  const e = await env?.catch(() => undefined);
  env = undefined;
  await e?.teardown();
}

/** The prebuilt bundle when it matches the sources (npm test builds it), else webpack once per run. */
export function workflowBundle(): Promise<WorkflowBundleOption> {
  bundle ??= (async () => {
    const prebuilt = prebuiltBundle();
    if ('codePath' in prebuilt) return { codePath: prebuilt.codePath };
    return { code: (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger: quiet })).code };
  })();
  return bundle;
}

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/**
 * Runs `body` with `stubs` serving the activities of the workflows it starts (ids beginning with `run.id`). An
 * activity the test did not stub fails non-retryably naming itself, so an unexpected call fails the run
 * instead of hanging it.
 */
export async function withStubbedWorker<T>(stubs: ActivityStubs, body: (run: WorkflowRun) => Promise<T>): Promise<T> {
  const run: WorkflowRun = { id: `wft-${process.pid}-${++tests}`, taskQueue: TASK_QUEUE, calls: [], outcomes: [] };
  registered.set(run.id, { stubs, run });
  try {
    const { running } = await sharedWorker();
    // A worker that dies fails the test instead of leaving it waiting for its timeout.
    return await Promise.race([body(run), running.then(() => Promise.reject(new Error('the workflow test worker stopped')))]);
  } finally {
    registered.delete(run.id);
  }
}

/**
 * Runs one workflow (id `<test>-<name>`) to its end with `stubs` serving its activities and those of its
 * children: its result, or the ApplicationFailure it failed with (any other ending fails the test).
 */
export async function runStubbed<A, R>(
  workflow: (input: A) => Promise<R>,
  name: string,
  stubs: ActivityStubs,
  input: A,
): Promise<{ run: WorkflowRun; result?: R; failure?: ApplicationFailure }> {
  const { client } = await workflowEnv();
  return withStubbedWorker(stubs, async (run) => {
    try {
      const result = await client.workflow.execute(workflow, { taskQueue: run.taskQueue, workflowId: `${run.id}-${name}`, args: [input] } as never);
      return { run, result: result as R };
    } catch (e) {
      assert.ok(e instanceof WorkflowFailedError, String(e));
      return { run, failure: e.cause as ApplicationFailure };
    }
  });
}

function testOf(workflowId: string): { stubs: ActivityStubs; run: WorkflowRun } | undefined {
  const id = /^wft-\d+-\d+/.exec(workflowId)?.[0];
  return id ? registered.get(id) : undefined;
}

function sharedWorker(): Promise<{ worker: Worker; running: Promise<void> }> {
  worker ??= (async () => {
    const activities: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const name of Object.keys(ACTIVITY_NAMES) as (keyof Activities)[]) {
      activities[name] = async (input: unknown) => {
        const test = testOf(Context.current().info.workflowExecution?.workflowId ?? '');
        test?.run.calls.push({ name, input });
        const stub = test?.stubs[name] as ((input: unknown) => unknown) | undefined;
        if (!stub) throw ApplicationFailure.nonRetryable(`the test did not expect activity ${name}`, 'UnexpectedActivityCall');
        return stub(input);
      };
    }
    const w = await Worker.create({
      connection: (await workflowEnv()).nativeConnection,
      taskQueue: TASK_QUEUE,
      workflowBundle: await workflowBundle(),
      activities,
      interceptors: { activity: [catalogFailuresInterceptor] },
      sinks: {
        exportOutcome: { ended: { fn: (info, outcome) => void testOf(info.workflowId)?.run.outcomes.push(outcome), callDuringReplay: false } },
      } satisfies InjectedSinks<ExportOutcomeSinks>,
      shutdownGraceTime: '1 second',
    });
    return { worker: w, running: w.run() };
  })();
  return worker;
}

/** The sink the export-outcome workflow interceptor reports to (the worker's metrics in production). */
export function outcomeSinks(ended: (outcome: ExportOutcome) => void): InjectedSinks<ExportOutcomeSinks> {
  return { exportOutcome: { ended: { fn: (_info, outcome) => void ended(outcome), callDuringReplay: false } } };
}

/** Every activity of the contract (common/activities.ts); the type makes a new activity a compile error here until listed. */
const ACTIVITY_NAMES: Record<keyof Activities, true> = {
  checkDependencies: true,
  readAwsIdentity: true,
  preflightCompatibleOnboarding: true,
  ensureMzStorageSecrets: true,
  ensureMzAccessKeyConnection: true,
  dropMzAccessKeyConnection: true,
  preflightOnboarding: true,
  preflightOffboarding: true,
  ensureBucket: true,
  deleteOnboardedData: true,
  ensureIamPolicy: true,
  ensureIamRole: true,
  checkTrustPolicy: true,
  deleteIamPolicy: true,
  deleteIamRole: true,
  ensureMzConnection: true,
  readMzConnection: true,
  validateMzConnection: true,
  probeMzConnection: true,
  dropMzConnection: true,
  copyToS3: true,
  inspectExportAttempts: true,
  finishExportAttempt: true,
  cleanupExportAttempts: true,
  updateLatestPointer: true,
  pauseScheduleAfterFailure: true,
  chooseSnapshotTimestamp: true,
  findSnapshotSetPublication: true,
  commitSnapshotSet: true,
  planExpiry: true,
  deleteExpiredFolders: true,
  notifyPublication: true,
};

/** Calls of one activity, their inputs typed by the contract. */
export function callsOf<K extends keyof Activities>(run: WorkflowRun, name: K): Parameters<Activities[K]>[0][] {
  return run.calls.filter((c) => c.name === name).map((c) => c.input as Parameters<Activities[K]>[0]);
}
