/**
 * The secrets check: a worker whose environment holds marker secrets in every form it accepts (a Materialize
 * password in URL userinfo with a '/' in it, the same password as ?password= and as PGPASSWORD, sslpassword and
 * an sslkey path pg fails to read, AWS keys and session token, the payload key) runs every workflow,
 * succeeding and failing, and no spelling of any of them may appear in any workflow input, result, failure,
 * memo, search attribute, query answer, history event, line of the worker's log, or the CLI's output.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client, type WorkflowHandle, type WorkflowStartOptions } from '@temporalio/client';
import { ENCRYPTED_ENCODING, PAYLOAD_KEY_ENV, dataConverterFromEnv } from '../../platform/payload-codec';
import { freePort, stopProcessGroup, type StartedProcess } from '../../local/processes';
import { PROJECT_ROOT, startMzLocal } from '../../local/stack';
import { sharedStack, type TestStack } from '../helpers/stack';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process';
import { findSecrets, type SecretHit } from './support/secret-scan';
import { printTable } from './support/report';
import { bulkExport, healthCheck, offboardAwsConnection, onboardAwsConnection } from '../../workflows';
import type { BulkExportInput } from '../../common/export/types';

const rand = (n: number) => randomBytes(n).toString('base64url').slice(0, n);
const SECRETS = {
  // A '/' in the password: it must be percent-encoded in the URL, and neither spelling may show anywhere.
  'Materialize password': `mzpw/${rand(20)}`,
  'sslpassword parameter': `sslpw-${rand(20)}`,
  'sslkey path': `sslkey-${rand(20)}`,
  'AWS session token': `tok-${rand(40)}`,
  'second profile password': `mzpw2-${rand(20)}`,
  'wrong password': `mzpw3-${rand(20)}`,
  'AWS secret access key': rand(40),
  'AWS access key id': `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
};

describe('secrets: no password or AWS key reaches Temporal or the logs', function () {
  this.timeout(240_000);
  let stack: TestStack;
  let worker: WorkerProcess;
  let mzLocal: StartedProcess | undefined;
  let logFile: string;
  let logOffset = 0;
  let workerEnv: Record<string, string | undefined> = {};
  const cliOutputs: { label: string; text: string }[] = [];
  const taskQueue = `secrets-${process.pid}`;
  const handles: { label: string; handle: WorkflowHandle; outcome?: unknown }[] = [];
  const suffix = rand(6).toLowerCase().replace(/[^a-z0-9]/g, 'x');
  const bucket = `secrets-${suffix}`;
  const connectionName = `secrets_${suffix}`;

  before(async function () {
    this.timeout(180_000);
    stack = await sharedStack();
    // Its own mz-local that demands the password, so the password is really sent and checked.
    const port = await freePort();
    const started = await startMzLocal(path.join(stack.info.dir, `secrets-${process.pid}`), port, stack.info.awsEndpoint, {
      args: ['--sample-data', '--password', SECRETS['Materialize password'], '--password-method', 'cleartext'],
    });
    mzLocal = started.proc;
    const mz = new URL(started.url);
    mz.password = encodeURIComponent(SECRETS['Materialize password']);
    const bare = new URL(started.url);
    bare.password = '';
    const inQuery = new URL(bare);
    inQuery.searchParams.set('password', SECRETS['Materialize password']);
    const ssl = new URL(bare);
    ssl.searchParams.set('sslmode', 'require');
    ssl.searchParams.set('sslpassword', SECRETS['sslpassword parameter']);
    ssl.searchParams.set('sslkey', `/nonexistent/${SECRETS['sslkey path']}.pem`);
    const wrong = new URL(started.url);
    wrong.password = SECRETS['wrong password'];
    const closedPort = await freePort();
    const env = {
      ...stack.env,
      TEMPORAL_TASK_QUEUE: taskQueue,
      MZ_URL: mz.toString(),
      MZ_URL_WRONG: wrong.toString(),
      MZ_URL_QUERY: inQuery.toString(),
      MZ_URL_SSL: ssl.toString(),
      // A profile without a password: pg takes PGPASSWORD.
      MZ_URL_PGPW: bare.toString(),
      PGPASSWORD: SECRETS['Materialize password'],
      AWS_SESSION_TOKEN: SECRETS['AWS session token'],
      MZ_URL_BROKEN: `postgres://someone:${SECRETS['second profile password']}@127.0.0.1:${closedPort}/materialize`,
      AWS_ACCESS_KEY_ID: SECRETS['AWS access key id'],
      AWS_SECRET_ACCESS_KEY: SECRETS['AWS secret access key'],
    };
    const name = `secrets-worker-${process.pid}`;
    logFile = path.join(stack.logDir, `${name}.log`);
    logOffset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    workerEnv = env;
    worker = await startWorkerProcess(env, { logDir: stack.logDir, name });
  });

  after(async () => {
    await worker?.stop();
    if (mzLocal) await stopProcessGroup(mzLocal.pid);
  });

  type Started = typeof healthCheck | typeof onboardAwsConnection | typeof offboardAwsConnection | typeof bulkExport;
  const run = async <W extends Started>(label: string, workflow: W, input: Parameters<W>[0]) => {
    // `input` is checked against W's parameter at every call; TS cannot resolve the SDK's conditional options type
    // for a generic W (as in client/commands/demo.ts).
    const options = { taskQueue, workflowId: `secrets-${label}-${suffix}`, args: [input], workflowExecutionTimeout: '2 minutes' } as unknown as WorkflowStartOptions<W>;
    const handle: WorkflowHandle = await stack.temporal.workflow.start(workflow, options);
    const outcome = await handle.result().catch((e: unknown) => e);
    handles.push({ label, handle, outcome });
    return outcome;
  };

  it('runs every workflow through the worker, succeeding and failing', async () => {
    const retry = { initialIntervalSeconds: 0.2, maximumIntervalSeconds: 0.5 };
    const health = (await run('health', healthCheck, {})) as { materialize: { ok: boolean; target: object } };
    assert.equal(health.materialize.ok, true, JSON.stringify(health));
    assert.deepEqual(Object.keys(health.materialize.target).sort(), ['database', 'host', 'port'], 'the target is host, port and database only');
    // The password works in the query string and from PGPASSWORD too (so those spellings really were used).
    for (const profile of ['query', 'pgpw']) {
      const r = (await run(`health-${profile}`, healthCheck, { materializeProfile: profile })) as { materialize: { ok: boolean } };
      assert.equal(r.materialize.ok, true, `${profile}: ${JSON.stringify(r)}`);
    }
    // pg fails to read the sslkey file and says so, naming the path: that text must not reach the history.
    const ssl = (await run('health-ssl', healthCheck, { materializeProfile: 'ssl' })) as { materialize: { ok: boolean; error?: string } };
    assert.equal(ssl.materialize.ok, false);
    const broken = (await run('health-broken', healthCheck, { materializeProfile: 'broken' })) as { materialize: { ok: boolean } };
    assert.equal(broken.materialize.ok, false);
    const wrong = (await run('health-wrong-password', healthCheck, { materializeProfile: 'wrong' })) as { materialize: { ok: boolean; error?: string } };
    assert.equal(wrong.materialize.ok, false, 'mz-local accepted a wrong password: the password is not really checked');

    const onboard = { bucket, prefix: 'exports', roleName: `secrets-role-${suffix}`, policyName: `secrets-policy-${suffix}`, connectionName, retry, validationTimeoutSeconds: 60 };
    const onboarded = await run('onboard', onboardAwsConnection, onboard);
    assert.ok(!(onboarded instanceof Error), `onboarding failed: ${(onboarded as Error).message} ${(onboarded as Error & { cause?: Error }).cause?.message}`);
    await run('onboard-broken-profile', onboardAwsConnection, { ...onboard, materializeProfile: 'broken', stepTimeoutSeconds: 2 });

    const exportInput: BulkExportInput = {
      exportName: 'secrets',
      connectionName,
      object: 'orders',
      bucket,
      prefix: 'exports',
      format: 'csv',
      tuning: { retryBackoffSeconds: 0, pollInitialMs: 50, pollMaxMs: 200, settleQuietSeconds: 1 },
    };
    const exported = await run('export', bulkExport, exportInput);
    assert.ok(!(exported instanceof Error), `export failed: ${(exported as Error).message} ${(exported as Error & { cause?: Error }).cause?.message}`);
    assert.ok((await run('export-unknown-object', bulkExport, { ...exportInput, exportName: 'secrets-bad', object: 'no_such_table' })) instanceof Error);
    // The profile's server refuses connections: the COPY waits materializeUnavailableWaitSeconds for it, then the
    // run fails with pg's own words, which are what the scan below reads.
    const brokenExport = await run('export-broken-profile', bulkExport, {
      ...exportInput,
      exportName: 'secrets-broken',
      materializeProfile: 'broken',
      maxAttempts: 1,
      tuning: { ...exportInput.tuning, materializeUnavailableWaitSeconds: 1 },
    });
    assert.ok(brokenExport instanceof Error);
    assert.match(String((brokenExport as Error & { cause?: Error }).cause?.message), /ECONNREFUSED|refused/, 'the run failed with the connection error, not a timeout');
    assert.ok(
      (await run('export-wrong-password', bulkExport, { ...exportInput, exportName: 'secrets-wrong', materializeProfile: 'wrong', maxAttempts: 1 })) instanceof Error,
    );
    assert.ok((await run('export-bad-input', bulkExport, { ...exportInput, bucket: 'NOT A BUCKET' })) instanceof Error);
    const offboarded = await run('offboard', offboardAwsConnection, {
      connectionName,
      roleName: onboard.roleName,
      policyName: onboard.policyName,
      retry,
    });
    assert.ok(!(offboarded instanceof Error), `offboarding failed: ${(offboarded as Error).message}`);
  });

  it('finds none of the secrets in histories, descriptions, memos, search attributes, queries, results, failures or logs', async () => {
    assert.ok(handles.length >= 10, 'the workflows ran');
    // Control: the scan does see inputs and failures (the bad bucket name is in both).
    const bad = handles.find((h) => h.label === 'export-bad-input')!;
    const inHistory = findSecrets(await bad.handle.fetchHistory(), { canary: 'NOT A BUCKET' }, 'history');
    const inFailure = findSecrets(bad.outcome, { canary: 'NOT A BUCKET' }, 'failure');
    assert.ok(inHistory.some((h) => h.where.includes('input.payloads')), 'the scan does not see workflow inputs');
    assert.ok(inFailure.length > 0, 'the scan does not see failures');
    const hits: SecretHit[] = [];
    const rows: string[][] = [];
    for (const { label, handle, outcome } of handles) {
      const history = await handle.fetchHistory();
      const description = await handle.describe();
      const progress = await handle.query('progress').catch(() => undefined);
      const found = [
        ...findSecrets(history, SECRETS, `${label} history`),
        ...findSecrets(description.raw, SECRETS, `${label} description`),
        ...findSecrets(description.memo, SECRETS, `${label} memo`),
        ...findSecrets(description.searchAttributes, SECRETS, `${label} search attributes`),
        ...findSecrets(progress, SECRETS, `${label} progress query`),
        ...findSecrets(outcome, SECRETS, `${label} result or failure`),
      ];
      hits.push(...found);
      rows.push([label, String(history.events?.length ?? 0), description.status.name, found.length ? 'LEAK' : 'clean']);
    }
    // The CLI, run with the same environment as the worker: doctor prints the health report of every profile.
    for (const profile of ['default', 'ssl', 'wrong']) {
      const out = await promisify(execFile)(path.join(PROJECT_ROOT, 'bin', 'mz-s3-export'), ['doctor', '--profile', profile], { env: { ...process.env, ...workerEnv } }).catch(
        (e: { stdout?: string; stderr?: string }) => e,
      );
      const text = `${out.stdout ?? ''}\n${out.stderr ?? ''}`;
      assert.match(text, /"materialize"/, `doctor --profile ${profile} printed no report: ${text.slice(0, 500)}`);
      cliOutputs.push({ label: `doctor --profile ${profile}`, text });
    }
    for (const { label, text } of cliOutputs) {
      const found = findSecrets(text, SECRETS, `CLI ${label}`);
      hits.push(...found);
      rows.push([`CLI ${label}`, '', '', found.length ? 'LEAK' : 'clean']);
    }
    const logHits = findSecrets(fs.readFileSync(logFile, 'utf8').slice(logOffset).split('\n'), SECRETS, 'worker log');
    hits.push(...logHits);
    rows.push(['worker log', `${fs.readFileSync(logFile, 'utf8').slice(logOffset).split('\n').length} lines`, '', logHits.length ? 'LEAK' : 'clean']);
    printTable('secrets check', ['scanned', 'events', 'status', 'secrets found'], rows);
    assert.deepEqual(
      hits.map((h) => `${h.secret} in ${h.where}: ...${h.context}...`),
      [],
    );
  });

  it('with MZ_S3_EXPORT_PAYLOAD_KEY set, Temporal stores inputs, results and failures only encrypted', async function () {
    this.timeout(120_000);
    const key = randomBytes(32).toString('base64');
    const queue = `encrypted-${process.pid}`;
    const encryptedName = `encrypted-worker-${process.pid}`;
    const encryptedLog = path.join(stack.logDir, `${encryptedName}.log`);
    const encryptedLogOffset = fs.existsSync(encryptedLog) ? fs.statSync(encryptedLog).size : 0;
    const encryptedWorker = await startWorkerProcess(
      { ...stack.env, TEMPORAL_TASK_QUEUE: queue, [PAYLOAD_KEY_ENV]: key },
      { logDir: stack.logDir, name: encryptedName },
    );
    try {
      const withKey = new Client({ connection: stack.temporal.connection, namespace: 'default', dataConverter: dataConverterFromEnv({ [PAYLOAD_KEY_ENV]: key }) });
      const canary = `canary-${rand(12)}`;
      const report = await withKey.workflow.execute(healthCheck, {
        taskQueue: queue,
        workflowId: `encrypted-health-${suffix}`,
        args: [{ materializeProfile: 'default' }],
        workflowExecutionTimeout: '1 minute',
      });
      assert.equal((report as { materialize: { ok: boolean } }).materialize.ok, true, 'the keyed client reads the result');
      const failed = await withKey.workflow
        .execute(bulkExport, {
          taskQueue: queue,
          workflowId: `encrypted-bad-${suffix}`,
          args: [{ exportName: canary, bucket: 'NOT A BUCKET' } as unknown as BulkExportInput], // deliberately invalid: its failure must stay encrypted
          workflowExecutionTimeout: '1 minute',
        })
        .catch((e: Error) => e);
      assert.ok(failed instanceof Error);
      // The keyed client reads the failure's real message back.
      assert.match(String((failed as Error & { cause?: Error }).cause?.message), /NOT A BUCKET/);
      // What the server holds, read without the key.
      for (const id of [`encrypted-health-${suffix}`, `encrypted-bad-${suffix}`]) {
        const history = await stack.temporal.workflow.getHandle(id).fetchHistory();
        const payloads = (history.events ?? []).flatMap((e) => [
          ...(e.workflowExecutionStartedEventAttributes?.input?.payloads ?? []),
          ...(e.workflowExecutionCompletedEventAttributes?.result?.payloads ?? []),
          ...(e.activityTaskScheduledEventAttributes?.input?.payloads ?? []),
          ...(e.activityTaskCompletedEventAttributes?.result?.payloads ?? []),
        ]);
        assert.ok(payloads.length > 0, id);
        for (const p of payloads) assert.equal(Buffer.from(p.metadata!.encoding!).toString(), ENCRYPTED_ENCODING, `${id}: a payload is stored in clear`);
        assert.deepEqual(findSecrets(history, { canary, profile: 'materializeProfile', bucket: 'NOT A BUCKET' }, id), [], `${id}: plaintext visible without the key`);
        assert.deepEqual(findSecrets(history, { key }, id), [], `${id}: the payload key is in the history`);
      }
      const log = fs.readFileSync(encryptedLog, 'utf8').slice(encryptedLogOffset);
      assert.ok(log.includes('worker started'), 'the encrypted worker log was read');
      assert.deepEqual(findSecrets(log.split('\n'), { key }, 'encrypted worker log'), [], 'the payload key is in the worker log');
    } finally {
      await encryptedWorker.stop();
    }
  });
});
