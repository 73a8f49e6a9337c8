/**
 * Workflow logic tested with stubbed activities: the real workflow code, bundled as the worker bundles it, runs on
 * a Temporal dev server started from the pinned binary (.venv/bin/temporal; nothing is downloaded), against
 * activities a test writes in a few lines. Each test gets its own task queue and worker, and sees every
 * activity call its workflow made. What crosses a process boundary (S3, pg, IAM, a worker crash) is tested on
 * the real stack in test/integration and test/reliability.
 */
import * as path from 'node:path';
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
  /** The activity calls the workflows made, in order. */
  calls: ActivityCall[];
  /** bulkExport outcomes the workflow interceptor reported through its sink. */
  outcomes: ExportOutcome[];
  taskQueue: string;
}

let env: Promise<TestWorkflowEnvironment> | undefined;
let bundle: Promise<WorkflowBundleOption> | undefined;
let queues = 0;

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
 * Runs `body` while a worker serves `stubs` on a fresh task queue. An activity the test did not stub fails
 * non-retryably naming itself, so a workflow that calls something unexpected fails instead of hanging.
 */
export async function withStubbedWorker<T>(stubs: ActivityStubs, body: (run: WorkflowRun) => Promise<T>): Promise<T> {
  const testEnv = await workflowEnv();
  const run: WorkflowRun = { calls: [], outcomes: [], taskQueue: `workflow-test-${process.pid}-${++queues}` };
  const activities: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const name of Object.keys(ACTIVITY_NAMES) as (keyof Activities)[]) {
    activities[name] = async (input: unknown) => {
      run.calls.push({ name, input });
      const stub = stubs[name] as ((input: unknown) => unknown) | undefined;
      if (!stub) throw ApplicationFailure.nonRetryable(`the test did not expect activity ${name}`, 'UnexpectedActivityCall');
      return stub(input);
    };
  }
  const worker = await Worker.create({
    connection: testEnv.nativeConnection,
    taskQueue: run.taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
    interceptors: { activity: [catalogFailuresInterceptor] },
    sinks: outcomeSinks((outcome) => run.outcomes.push(outcome)),
    shutdownGraceTime: '1 second',
  });
  return worker.runUntil(body(run));
}

/** The sink the export-outcome workflow interceptor reports to (the worker's metrics in production). */
export function outcomeSinks(ended: (outcome: ExportOutcome) => void): InjectedSinks<ExportOutcomeSinks> {
  return { exportOutcome: { ended: { fn: (_info, outcome) => void ended(outcome), callDuringReplay: false } } };
}

/** Every activity of the contract (common/activities.ts); the type makes a new activity a compile error here until listed. */
const ACTIVITY_NAMES: Record<keyof Activities, true> = {
  checkDependencies: true,
  readAwsIdentity: true,
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
};

/** Calls of one activity, their inputs typed by the contract. */
export function callsOf<K extends keyof Activities>(run: WorkflowRun, name: K): Parameters<Activities[K]>[0][] {
  return run.calls.filter((c) => c.name === name).map((c) => c.input as Parameters<Activities[K]>[0]);
}
