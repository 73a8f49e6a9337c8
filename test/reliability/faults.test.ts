/**
 * The fault suite, on its own local stack (support/fault-stack.ts): the worker killed with SIGKILL at each phase
 * of onboarding and of an export, the Temporal dev server restarted (file persistence) mid-run, mz-local stopped
 * mid-COPY and started again, moto unreachable for a while. Each scenario is bounded in time and checks the end
 * state: the run succeeded, nothing was created twice, every export is published exactly once (one _SUCCESS per
 * logical time, its manifest listing exactly the files there, _latest.json pointing at it), failed attempts were
 * cleaned, and offboarding leaves no IAM object or connection behind. A table of scenarios and outcomes is
 * printed at the end.
 *
 * To freeze a workflow at a phase, a proxy holds the one request that phase makes (before it reaches moto or
 * mz-local, or after, holding only the answer: the side effect happened and the worker never heard back); the
 * worker is killed while every run is parked, the requests are let go, and a new worker takes over.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListPoliciesCommand,
  ListPolicyVersionsCommand,
  ListRolesCommand,
} from '@aws-sdk/client-iam';
import type { WorkflowHandle } from '@temporalio/client';
import { classifyAttemptObjects } from '../../activities/export/manifest';
import type { ExportManifest } from '../../common/export/manifest';
import { logicalTimeKey, latestKey, parseAttemptFolder } from '../../common/export/paths';
import type { BulkExportResult, ExportProgress } from '../../common/export/types';
import type { OnboardResult, StepProgress } from '../../common/onboarding/progress';
import { startFaultStack, waitFor, type FaultStack } from './support/fault-stack';
import type { Hold, RequestInfo } from './support/proxies';
import { printTable } from './support/report';
import { bulkExport, offboardAwsConnection, onboardAwsConnection } from '../../workflows';

/** A table mz-local's --sample-data creates. */
const SAMPLE_TABLE = 'orders';

const suffix = randomBytes(3).toString('hex');
const RETRY = { initialIntervalSeconds: 0.5, maximumIntervalSeconds: 2 };
const EXPORT_TUNING = {
  retryBackoffSeconds: 0.5,
  copyHeartbeatTimeoutSeconds: 2,
  pollInitialMs: 100,
  pollMaxMs: 500,
  completionTimeoutSeconds: 60,
  settleQuietSeconds: 2,
};

const formParam = (name: string, value: string) => (r: RequestInfo) => new RegExp(`(^|&)${name}=${escapeRe(value)}(&|$)`).test(r.body);
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Materialize starting to write a data file of that attempt folder (mz-local uploads each file in parts). */
const dataFileWrite = (attemptKey: string) => (r: RequestInfo) =>
  (r.op === 'PutObject' || r.op === 'CreateMultipartUpload') && r.path.includes(`${attemptKey}/mz-`) && r.path.includes('-batch-');

function onboardInput(tag: string) {
  return {
    bucket: `faults-${suffix}-${tag}`,
    prefix: 'exports',
    roleName: `faults-role-${suffix}-${tag}`,
    policyName: `faults-policy-${suffix}-${tag}`,
    connectionName: `faults_${suffix}_${tag}`,
    retry: RETRY,
    validationTimeoutSeconds: 90,
    stepTimeoutSeconds: 120,
  };
}

describe('faults: crashes, restarts and outages end in the right state', function () {
  this.timeout(600_000);
  let stack: FaultStack;
  const outcomes: string[][] = [];
  const main = onboardInput('main');
  let logicalTimes = Date.UTC(2025, 0, 1);
  const nextLogicalTime = () => new Date((logicalTimes += 3_600_000)).toISOString();

  const record = (scenario: string, fault: string, startedAt: number, outcome: string) =>
    outcomes.push([scenario, fault, `${Math.round((Date.now() - startedAt) / 1000)} s`, outcome]);

  before(async function () {
    this.timeout(180_000);
    stack = await startFaultStack();
    // The connection every export scenario writes through.
    await stack.temporal.workflow.execute(onboardAwsConnection, {
      taskQueue: stack.taskQueue,
      workflowId: `faults-onboard-main-${suffix}`,
      args: [main],
      workflowExecutionTimeout: '2 minutes',
    });
  });

  after(async function () {
    this.timeout(60_000);
    printTable('fault suite', ['scenario', 'fault', 'took', 'outcome'], outcomes);
    await stack?.close();
  });

  const startExport = (exportName: string, logicalTime: string, extra: Record<string, unknown> = {}) =>
    stack.temporal.workflow.start(bulkExport, {
      taskQueue: stack.taskQueue,
      workflowId: `faults-export-${exportName}-${suffix}`,
      args: [
        {
          exportName,
          connectionName: main.connectionName,
          object: SAMPLE_TABLE,
          bucket: main.bucket,
          prefix: main.prefix,
          format: 'parquet',
          logicalTime,
          tuning: EXPORT_TUNING,
          ...extra,
        },
      ],
      workflowExecutionTimeout: '4 minutes',
    });

  /** Everything under <prefix>/<exportName>/<logical time>/ by attempt folder, and what it shows. */
  async function checkPublishedOnce(exportName: string, logicalTime: string, result: BulkExportResult): Promise<string> {
    const loc = { bucket: main.bucket, prefix: main.prefix, exportName };
    const root = logicalTimeKey(loc, logicalTime);
    const listed = await stack.aws.s3.send(new ListObjectsV2Command({ Bucket: main.bucket, Prefix: `${root}/` }));
    const objects = (listed.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size ?? 0 }));
    const folders = new Map<number, typeof objects>();
    for (const o of objects) {
      if (o.key.startsWith(`${root}/_claims/`)) continue; // who owns which attempt, which one is published
      const n = parseAttemptFolder(o.key.slice(root.length + 1).split('/')[0]);
      assert.ok(n !== undefined, `unexpected key ${o.key}`);
      folders.set(n, [...(folders.get(n) ?? []), o]);
    }
    const published = [...folders.entries()].filter(([, objs]) => objs.some((o) => o.key.endsWith('/_SUCCESS')));
    assert.equal(published.length, 1, `${exportName}: ${published.length} attempt folders are published: ${[...folders.keys()]}`);
    const [attempt, objs] = published[0];
    assert.equal(result.attempt, attempt, `${exportName}: the result names attempt ${result.attempt}, S3 has ${attempt} published`);
    const listing = classifyAttemptObjects(`${root}/attempt-${String(attempt).padStart(3, '0')}`, objs);
    assert.equal(listing.sentinels.length, 0, `${exportName}: the published folder still has a sentinel`);
    const manifestKey = listing.manifest!.key;
    const manifest = JSON.parse(
      await (await stack.aws.s3.send(new GetObjectCommand({ Bucket: main.bucket, Key: manifestKey }))).Body!.transformToString(),
    ) as ExportManifest;
    assert.deepEqual(
      manifest.files.map((f) => [f.key, f.sizeBytes]).sort(),
      listing.dataFiles.map((f) => [f.key, f.size]).sort(),
      `${exportName}: the manifest does not list exactly the files in its folder`,
    );
    assert.equal(manifest.totals.rows, result.rows);
    const latest = JSON.parse(
      await (await stack.aws.s3.send(new GetObjectCommand({ Bucket: main.bucket, Key: latestKey(loc) }))).Body!.transformToString(),
    );
    assert.equal(latest.manifestKey, manifestKey, `${exportName}: _latest.json points elsewhere`);
    // Other attempts: never published, and no sentinel left (a sentinel is the proof that lets cleanup act).
    const others = [...folders.entries()].filter(([n]) => n !== attempt);
    for (const [n, o] of others) {
      const l = classifyAttemptObjects(`${root}/attempt-${String(n).padStart(3, '0')}`, o);
      assert.equal(l.sentinels.length, 0, `${exportName}: attempt ${n} still has its sentinel (not cleaned)`);
      assert.ok(!l.manifest && !l.success, `${exportName}: attempt ${n} has a manifest or _SUCCESS`);
    }
    const leftovers = others.reduce((s, [, o]) => s + o.length, 0);
    return `published once by attempt ${attempt} (${result.rows} rows; ${folders.size - 1} other attempt folder(s) left${leftovers ? `, holding ${leftovers} unproven file(s)` : ''})`;
  }

  async function checkOnboarded(input: ReturnType<typeof onboardInput>, result: OnboardResult): Promise<void> {
    const attached = await stack.aws.iam.send(new ListAttachedRolePoliciesCommand({ RoleName: input.roleName }));
    assert.deepEqual(attached.AttachedPolicies?.map((p) => p.PolicyName), [input.policyName], `${input.roleName}: attached policies`);
    const versions = await stack.aws.iam.send(new ListPolicyVersionsCommand({ PolicyArn: result.policyArn }));
    assert.equal(versions.Versions?.length, 1, `${input.policyName}: ${versions.Versions?.length} policy versions`);
    const role = await stack.aws.iam.send(new GetRoleCommand({ RoleName: input.roleName }));
    const trust = decodeURIComponent(role.Role!.AssumeRolePolicyDocument!);
    assert.ok(trust.includes(result.externalId), `${input.roleName}: the trust policy lacks the external ID`);
    assert.ok(!trust.includes('PENDING'), `${input.roleName}: the trust policy still has the placeholder`);
    const mz = await stack.mz();
    try {
      const rows = (await mz.query(`SELECT id FROM mz_catalog.mz_connections WHERE name = '${input.connectionName}'`)).rows;
      assert.equal(rows.length, 1, `${input.connectionName}: ${rows.length} connections`);
    } finally {
      await mz.end();
    }
    const probes = await stack.aws.s3.send(new ListObjectsV2Command({ Bucket: input.bucket, Prefix: `${input.prefix}/_probe/` }));
    assert.equal(probes.KeyCount ?? 0, 0, `${input.bucket}: probe objects left behind`);
  }

  async function awaitAll<T>(handles: WorkflowHandle[], timeoutMs: number): Promise<T[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the runs did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return (await Promise.race([Promise.all(handles.map((h) => h.result())), timeout])) as T[];
    } finally {
      clearTimeout(timer);
    }
  }

  async function engagedWithin(holds: Hold[], ms: number, what: string): Promise<void> {
    await waitFor(`${what}: ${holds.filter((h) => !h.isEngaged()).length} of ${holds.length} runs to reach their phase`, async () => (holds.every((h) => h.isEngaged()) ? true : undefined), ms);
  }

  it('onboarding: the worker killed with SIGKILL at every step converges, with nothing created twice', async function () {
    this.timeout(240_000);
    const t0 = Date.now();
    const steps = ['preflight', 'connection', 'catalog', 'bucket', 'policy', 'role', 'validate-connection'] as const;
    const runs = steps.map((step, i) => ({ step, input: onboardInput(`k${i}`) }));
    const holds: Hold[] = [];
    for (const { step, input } of runs) {
      const iam = (op: string, param: string, value: string) =>
        stack.awsProxy.hold({ when: 'after', match: (r) => r.service === 'iam' && r.op === op && formParam(param, value)(r) });
      // The preflight reads the role (read-only): the kill lands after AWS answered, before the worker heard.
      if (step === 'preflight') holds.push(iam('GetRole', 'RoleName', input.roleName));
      if (step === 'bucket')
        holds.push(stack.awsProxy.hold({ when: 'after', match: (r) => r.op === 'CreateBucket' && r.path.replace(/\/$/, '') === `/${input.bucket}` }));
      if (step === 'policy') holds.push(iam('CreatePolicy', 'PolicyName', input.policyName));
      if (step === 'role') holds.push(iam('CreateRole', 'RoleName', input.roleName));
      if (step === 'connection') holds.push(stack.pgProxy.hold({ text: `CREATE CONNECTION "${input.connectionName}"`, when: 'after' }));
      // The catalog query runs once in the preflight and twice in the connection step (before and after CREATE);
      // the fourth is the catalog step's.
      if (step === 'catalog') holds.push(stack.pgProxy.hold({ text: `WHERE c.name = '${input.connectionName}'`, when: 'after', skip: 3 }));
    }
    // validate-connection: IAM "propagates" slowly, so VALIDATE fails as not yet assumable and the run waits on
    // its durable backoff timer; the kill lands while it waits.
    await stack.knob('mz_local_propagation_delay_seconds', 4);
    const handles = await Promise.all(
      runs.map(({ step, input }) =>
        stack.temporal.workflow.start(onboardAwsConnection, {
          taskQueue: stack.taskQueue,
          workflowId: `faults-onboard-${step}-${suffix}`,
          args: [{ ...input, retry: step === 'validate-connection' ? { initialIntervalSeconds: 3, maximumIntervalSeconds: 3 } : RETRY }],
          workflowExecutionTimeout: '4 minutes',
        }),
      ),
    );
    try {
      await engagedWithin(holds, 60_000, 'onboarding');
      const validating = handles[steps.indexOf('validate-connection')];
      await waitFor('the validate-connection run to wait for IAM', async () => {
        const p = await validating.query<StepProgress>('progress');
        return p.step === 'validate-connection' && p.status === 'waiting-to-retry' ? p : undefined;
      }, 60_000);
      for (const [i, h] of handles.entries()) {
        const p = await h.query<StepProgress>('progress');
        assert.equal(p.step, steps[i], `run ${i} is at ${p.step}, not ${steps[i]}, when the worker dies`);
      }
      await stack.killWorker();
    } finally {
      for (const h of holds) h.release();
      await stack.knob('mz_local_propagation_delay_seconds');
    }
    await stack.startWorker();
    const results = await awaitAll<OnboardResult>(handles, 150_000);
    for (const [i, { input }] of runs.entries()) await checkOnboarded(input, results[i]);
    record('onboarding', `worker SIGKILL at each of ${steps.join(', ')}`, t0, `${runs.length}/${runs.length} converged, nothing duplicated`);

    // Offboarding leaves nothing: no role, policy or connection of these runs.
    const t1 = Date.now();
    await awaitAll(
      await Promise.all(
        runs.map(({ step, input }) =>
          stack.temporal.workflow.start(offboardAwsConnection, {
            taskQueue: stack.taskQueue,
            workflowId: `faults-offboard-${step}-${suffix}`,
            args: [{ connectionName: input.connectionName, roleName: input.roleName, policyName: input.policyName, retry: RETRY }],
            workflowExecutionTimeout: '2 minutes',
          }),
        ),
      ),
      90_000,
    );
    const roles = (await stack.aws.iam.send(new ListRolesCommand({ MaxItems: 1000 }))).Roles ?? [];
    const policies = (await stack.aws.iam.send(new ListPoliciesCommand({ Scope: 'Local', MaxItems: 1000 }))).Policies ?? [];
    const ours = (name?: string) => runs.some(({ input }) => name === input.roleName || name === input.policyName);
    assert.deepEqual(roles.map((r) => r.RoleName).filter(ours), [], 'roles left behind');
    assert.deepEqual(policies.map((p) => p.PolicyName).filter(ours), [], 'policies left behind');
    const mz = await stack.mz();
    try {
      const left = (await mz.query('SELECT name FROM mz_catalog.mz_connections')).rows.map((r) => r.name as string);
      assert.deepEqual(left.filter((n) => runs.some(({ input }) => input.connectionName === n)), [], 'connections left behind');
    } finally {
      await mz.end();
    }
    record('offboarding', 'after the crashed onboardings', t1, 'no role, policy or connection orphaned');
  });

  it('export: the worker killed with SIGKILL at every phase publishes each export exactly once', async function () {
    this.timeout(240_000);
    const t0 = Date.now();
    // Each scenario holds the one request its step makes; `phase` is what the progress query shows meanwhile
    // (waiting, verifying and publishing are one activity).
    const scenarios = [
      { step: 'claiming the attempt', phase: 'copying' },
      { step: 'copying', phase: 'copying' },
      { step: 'awaiting-completion', phase: 'verifying' },
      { step: 'verifying', phase: 'verifying' },
      { step: 'writing the manifest', phase: 'verifying' },
      { step: 'claiming the publication', phase: 'verifying' },
    ] as const;
    const phases = scenarios.map((s) => s.step);
    const runs = scenarios.map(({ step }, i) => ({ phase: step, exportName: `kill-${i}`, logicalTime: nextLogicalTime() }));
    const holds: Hold[] = [];
    for (const { phase, exportName, logicalTime } of runs) {
      const root = logicalTimeKey({ bucket: main.bucket, prefix: main.prefix, exportName }, logicalTime);
      const attempt1 = `${root}/attempt-001`;
      // The claim is written and the worker dies before it hears so: the COPY counts as lost, its folder as ours.
      if (phase === 'claiming the attempt')
        holds.push(stack.awsProxy.hold({ when: 'after', match: (r) => r.op === 'PutObject' && r.path.endsWith(`${root}/_claims/attempt-001.json`) }));
      // mz-local's first data file: the COPY has started and is running when the worker dies.
      if (phase === 'copying')
        holds.push(stack.awsProxy.hold({ when: 'before', match: dataFileWrite(attempt1) }));
      if (phase === 'awaiting-completion')
        holds.push(stack.awsProxy.hold({ when: 'before', match: (r) => r.op === 'ListObjectsV2' && r.query.prefix === `${attempt1}/` }));
      if (phase === 'verifying')
        holds.push(stack.awsProxy.hold({ when: 'before', match: (r) => r.op === 'GetObject' && r.path.includes(`${attempt1}/mz-`) }));
      // The manifest is written and the worker dies before it hears so: publishing must be idempotent.
      if (phase === 'writing the manifest')
        holds.push(stack.awsProxy.hold({ when: 'after', match: (r) => r.op === 'PutObject' && r.path.endsWith(`${attempt1}/manifest.json`) }));
      // The logical time is claimed for attempt 1 and the worker dies before `_SUCCESS`: the retry finishes it.
      if (phase === 'claiming the publication')
        holds.push(stack.awsProxy.hold({ when: 'after', match: (r) => r.op === 'PutObject' && r.path.endsWith(`${root}/_claims/publication.json`) }));
    }
    const handles = await Promise.all(runs.map((r) => startExport(r.exportName, r.logicalTime)));
    try {
      await engagedWithin(holds, 90_000, 'exports');
      for (const [i, h] of handles.entries()) {
        const p = await h.query<ExportProgress>('progress');
        assert.equal(p.phase, scenarios[i].phase, `export ${i} (${phases[i]}) is at ${p.phase}, not ${scenarios[i].phase}, when the worker dies`);
      }
      await stack.killWorker();
    } finally {
      for (const h of holds) h.release();
    }
    await stack.startWorker();
    const results = await awaitAll<BulkExportResult>(handles, 180_000);
    const notes: string[] = [];
    for (const [i, r] of runs.entries()) notes.push(`${r.phase}: ${await checkPublishedOnce(r.exportName, r.logicalTime, results[i])}`);
    record('export', `worker SIGKILL at each of ${phases.join(', ')}`, t0, `${runs.length}/${runs.length} published once`);
    printTable('export phases under SIGKILL', ['phase', 'outcome'], notes.map((n) => n.split(': ')));
  });

  it('the Temporal dev server restarted mid-run (file persistence): the runs resume and finish', async function () {
    this.timeout(180_000);
    const t0 = Date.now();
    const logicalTime = nextLogicalTime();
    const root = logicalTimeKey({ bucket: main.bucket, prefix: main.prefix, exportName: 'temporal-restart' }, logicalTime);
    const copying = stack.awsProxy.hold({ when: 'before', match: dataFileWrite(`${root}/attempt-001`) });
    const exportHandle = await startExport('temporal-restart', logicalTime);
    const onboard = onboardInput('tr');
    // The onboarding is inside its policy step (the request not yet sent) when Temporal goes away.
    const policy = stack.awsProxy.hold({ when: 'before', match: (r) => r.service === 'iam' && r.op === 'CreatePolicy' && formParam('PolicyName', onboard.policyName)(r) });
    const onboardHandle = await stack.temporal.workflow.start(onboardAwsConnection, {
      taskQueue: stack.taskQueue,
      workflowId: `faults-onboard-temporal-restart-${suffix}`,
      args: [onboard],
      workflowExecutionTimeout: '3 minutes',
    });
    try {
      await engagedWithin([copying, policy], 60_000, 'Temporal restart');
      await stack.restartTemporal();
    } finally {
      copying.release();
      policy.release();
    }
    const [exported] = await awaitAll<BulkExportResult>([exportHandle], 120_000);
    const [onboarded] = await awaitAll<OnboardResult>([onboardHandle], 120_000);
    const outcome = await checkPublishedOnce('temporal-restart', logicalTime, exported);
    await checkOnboarded(onboard, onboarded);
    const workerAlive = stack.worker().proc.pid && !(await Promise.race([stack.worker().proc.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 10))]));
    record('Temporal restart', 'dev server stopped and started mid-COPY and mid-onboarding', t0, `export ${outcome}; onboarding converged; worker ${workerAlive ? 'kept running' : 'EXITED'}`);
    assert.ok(workerAlive, 'the worker exited when Temporal went away; it should wait and reconnect');
  });

  it('mz-local stopped mid-COPY and started again: the lost attempt is cleaned and the next one published', async function () {
    this.timeout(180_000);
    const t0 = Date.now();
    const logicalTime = nextLogicalTime();
    const root = logicalTimeKey({ bucket: main.bucket, prefix: main.prefix, exportName: 'mz-restart' }, logicalTime);
    const copying = stack.awsProxy.hold({ when: 'before', match: dataFileWrite(`${root}/attempt-001`) });
    const handle = await startExport('mz-restart', logicalTime);
    try {
      await engagedWithin([copying], 60_000, 'mz-local restart');
      await stack.stopMzLocal();
    } finally {
      copying.release({ drop: true });
    }
    await new Promise((r) => setTimeout(r, 1000));
    await stack.startMzLocal();
    const [result] = await awaitAll<BulkExportResult>([handle], 150_000);
    assert.ok(result.attempt >= 2, `published attempt ${result.attempt}; the interrupted attempt 1 cannot have been published`);
    const outcome = await checkPublishedOnce('mz-restart', logicalTime, result);
    record('mz-local restart', 'Materialize stopped mid-COPY, started 1 s later', t0, outcome);
  });

  it('moto unreachable for a while during onboarding and an export: both finish, nothing duplicated', async function () {
    this.timeout(180_000);
    const t0 = Date.now();
    const logicalTime = nextLogicalTime();
    const onboard = onboardInput('outage');
    const root = logicalTimeKey({ bucket: main.bucket, prefix: main.prefix, exportName: 'outage' }, logicalTime);
    // Park both where they next need AWS, then take AWS away for 6 s and let them go into the outage.
    const policyHold = stack.awsProxy.hold({ when: 'before', match: (r) => r.service === 'iam' && r.op === 'CreatePolicy' && formParam('PolicyName', onboard.policyName)(r) });
    const awaitHold = stack.awsProxy.hold({ when: 'before', match: (r) => r.op === 'ListObjectsV2' && r.query.prefix === `${root}/attempt-001/` });
    const exportHandle = await startExport('outage', logicalTime);
    const onboardHandle = await stack.temporal.workflow.start(onboardAwsConnection, {
      taskQueue: stack.taskQueue,
      workflowId: `faults-onboard-outage-${suffix}`,
      args: [onboard],
      workflowExecutionTimeout: '3 minutes',
    });
    await engagedWithin([policyHold, awaitHold], 60_000, 'outage');
    stack.awsProxy.setMode('refuse');
    policyHold.release({ drop: true });
    awaitHold.release({ drop: true });
    await new Promise((r) => setTimeout(r, 6000));
    const refused = stack.awsProxy.counts.faulted;
    stack.awsProxy.setMode('pass');
    const [exported] = await awaitAll<BulkExportResult>([exportHandle], 150_000);
    const [onboarded] = await awaitAll<OnboardResult>([onboardHandle], 150_000);
    const outcome = await checkPublishedOnce('outage', logicalTime, exported);
    await checkOnboarded(onboard, onboarded);
    assert.ok(refused > 0, 'the outage refused no request; the scenario did not test anything');
    record('moto outage', `AWS refused connections for 6 s (${refused} requests refused)`, t0, `export ${outcome}; onboarding converged`);
  });
});
