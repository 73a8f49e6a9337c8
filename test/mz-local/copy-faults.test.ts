/**
 * COPY ... TO S3 under enforced IAM permissions and injected faults: preflight failures write nothing,
 * failures and cancellations after the preflight leave the sentinel, other sessions are not blocked.
 */
import * as assert from 'node:assert/strict';
import { PutRolePolicyCommand, UpdateAssumeRolePolicyCommand } from '@aws-sdk/client-iam';
import { Client as PgClient, Query, type Client } from 'pg';
import { awsClients, connect, expectPgError, listKeys, setupExport, sleep, trustPolicy, useSuite, type SharedStack } from './helpers';

describe('mz-local COPY TO S3: permissions, faults, cancellation', function () {
  let stack: SharedStack;
  let c: Client;
  let admin: Client;
  useSuite({ clients: 2 }, (t) => ({ stack, clients: [c, admin] } = t));
  afterEach(async () => {
    await admin.query('ALTER SYSTEM RESET mz_local_fail_after_files');
    await admin.query('ALTER SYSTEM RESET mz_local_batch_delay_ms');
    await admin.query('ALTER SYSTEM RESET mz_local_drop_session_mid_copy');
  });

  async function waitForKey(bucket: string, prefix: string, pred: (k: string) => boolean, timeoutMs = 15_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const keys = await listKeys(stack.moto, bucket, prefix);
      if (keys.some(pred)) return keys;
      if (Date.now() > deadline) throw new Error(`no matching key under ${prefix}: ${keys.join(', ')}`);
      await sleep(50);
    }
  }

  it('a policy without s3:DeleteObject fails in the preflight, before any object is written', async () => {
    const s = await setupExport(stack.moto, c, { actions: ['s3:PutObject'] });
    const path = `${s.prefix}/no-delete`;
    const e = await expectPgError(() => c.query(`COPY orders TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`));
    assert.equal(e.message, 'AccessDenied error when using DeleteObject');
    assert.equal(e.code, '58000');
    assert.deepEqual(await listKeys(stack.moto, s.bucket, ''), [], 'nothing written, not even the sentinel');
  });

  it('a policy without s3:PutObject fails writing the sentinel: nothing written', async () => {
    const s = await setupExport(stack.moto, c, { actions: ['s3:DeleteObject'], inlinePolicy: true });
    const path = `${s.prefix}/no-put`;
    const e = await expectPgError(() => c.query(`COPY orders TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`));
    assert.match(
      e.message,
      new RegExp(
        `^AccessDenied: User: arn:aws:sts::123456789012:assumed-role/${s.roleName}/[^ ]+ is not authorized to perform: s3:PutObject on resource: "arn:aws:s3:::${s.bucket}/${path}/mz-t\\d+-INCOMPLETE" because no identity-based policy allows the s3:PutObject action$`,
      ),
    );
    assert.deepEqual(await listKeys(stack.moto, s.bucket, ''), []);
  });

  it('a target outside the granted prefix is refused at the listing (s3:prefix condition)', async () => {
    const s = await setupExport(stack.moto, c);
    const e = await expectPgError(() => c.query(`COPY orders TO 's3://${s.bucket}/elsewhere/run' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`));
    assert.match(e.message, /is not authorized to perform: s3:ListBucket on resource: "arn:aws:s3:::.*" because no identity-based policy allows the s3:ListBucket action/);
    assert.deepEqual(await listKeys(stack.moto, s.bucket, ''), []);
  });

  it('an explicit Deny in an inline policy wins over the attached Allow', async () => {
    const s = await setupExport(stack.moto, c);
    const { iam } = awsClients(stack.moto);
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: s.roleName,
        PolicyName: 'deny-delete',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' }] }),
      }),
    );
    iam.destroy();
    const e = await expectPgError(() => c.query(`COPY orders TO 's3://${s.bucket}/${s.prefix}/denied' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`));
    assert.equal(e.message, 'AccessDenied error when using DeleteObject');
  });

  it('COPY assumes the role with the external ID: a trust policy for another ID refuses it', async () => {
    const s = await setupExport(stack.moto, c);
    const { iam } = awsClients(stack.moto);
    await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: s.roleName, PolicyDocument: trustPolicy('mz_not_this_one') }));
    iam.destroy();
    const e = await expectPgError(() => c.query(`COPY orders TO 's3://${s.bucket}/${s.prefix}/untrusted' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`));
    assert.equal(e.message, `AccessDenied: User: arn:aws:iam::123456789012:role/MaterializeConnection is not authorized to perform: sts:AssumeRole on resource: ${s.roleArn}`);
    assert.deepEqual(await listKeys(stack.moto, s.bucket, ''), []);
  });

  it('mz_local_fail_after_files: fails after N data files, leaving the sentinel and those files', async () => {
    const s = await setupExport(stack.moto, c);
    await admin.query('ALTER SYSTEM SET mz_local_fail_after_files = 1');
    const path = `${s.prefix}/fail-after-1`;
    const e = await expectPgError(() => c.query(`COPY orders TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`));
    assert.match(e.message, /^mz-local injected failure after 1 data file/);
    assert.equal(e.code, '58000');
    const keys = await listKeys(stack.moto, s.bucket, path + '/');
    assert.equal(keys.filter((k) => k.endsWith('-INCOMPLETE')).length, 1, 'sentinel left');
    assert.equal(keys.filter((k) => k.endsWith('.parquet')).length, 1, 'exactly one data file');

    await admin.query('ALTER SYSTEM SET mz_local_fail_after_files = 0');
    const path0 = `${s.prefix}/fail-after-0`;
    await expectPgError(() => c.query(`COPY orders TO 's3://${s.bucket}/${path0}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`));
    const keys0 = await listKeys(stack.moto, s.bucket, path0 + '/');
    assert.equal(keys0.length, 1);
    assert.match(keys0[0], /mz-t\d+-INCOMPLETE$/);
  });

  it('a cancelled COPY returns 57014 and leaves the sentinel; other sessions run meanwhile', async function () {
    this.timeout(30_000);
    const s = await setupExport(stack.moto, c);
    await admin.query('ALTER SYSTEM SET mz_local_batch_delay_ms = 3000');
    const path = `${s.prefix}/cancelled`;
    const started = Date.now();
    const query = new Query(`COPY orders TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`);
    const copy = new Promise<{ code: string; message: string }>((resolve, reject) => {
      query.on('error', (err) => resolve(err as unknown as { code: string; message: string }));
      query.on('end', () => reject(new Error('the COPY was not cancelled')));
    });
    c.query(query);
    await waitForKey(s.bucket, path + '/', (k) => k.endsWith('-INCOMPLETE'));
    // the engine is free between chunks: another session is answered while the COPY waits
    const t0 = Date.now();
    assert.equal((await admin.query('SELECT count(*)::int AS n FROM orders')).rows[0].n, 1000);
    assert.ok(Date.now() - t0 < 1000, `another session waited ${Date.now() - t0} ms`);
    const canceller = new PgClient({ host: stack.server.host, port: stack.server.port, user: 'materialize' });
    (canceller as unknown as { cancel(cl: Client, q: Query): void }).cancel(c, query);
    const e = await copy;
    assert.equal(e.code, '57014');
    assert.equal(e.message, 'canceling statement due to user request');
    assert.ok(Date.now() - started < 3000, 'cancel interrupted the delay');
    const keys = await listKeys(stack.moto, s.bucket, path + '/');
    assert.deepEqual(keys.filter((k) => k.endsWith('.csv')), [], 'no data file completed');
    assert.equal(keys.filter((k) => k.endsWith('-INCOMPLETE')).length, 1, 'the sentinel stays');
    assert.equal((await c.query('SELECT 1 AS ok')).rows[0].ok, 1, 'the session is usable after the cancel');
  });

  it('mz_local_drop_session_mid_copy: the connection drops, the COPY stops, the sentinel stays', async function () {
    this.timeout(30_000);
    const s = await setupExport(stack.moto, admin);
    const victim = await connect(stack.server);
    await admin.query('ALTER SYSTEM SET mz_local_drop_session_mid_copy = true');
    const path = `${s.prefix}/dropped`;
    const e = await expectPgError(() => victim.query(`COPY orders TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`));
    assert.match(e.message, /Connection terminated|connection/i);
    await admin.query('ALTER SYSTEM RESET mz_local_drop_session_mid_copy');
    await sleep(200);
    const keys = await listKeys(stack.moto, s.bucket, path + '/');
    assert.equal(keys.filter((k) => k.endsWith('-INCOMPLETE')).length, 1, 'the sentinel stays');
    assert.deepEqual(keys.filter((k) => k.endsWith('.parquet')), [], 'no file was completed');
    const r = await admin.query(`COPY orders TO 's3://${s.bucket}/${s.prefix}/after-drop' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`);
    assert.equal(r.rowCount, 1000, 'the server goes on');
  });
});
