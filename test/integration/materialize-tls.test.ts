/**
 * Materialize over TLS with a throwaway CA: a second mz-local serving TLS (--tls-cert/--tls-key) and asking for a
 * password. A worker with MZ_URL ...?sslmode=verify-full&sslrootcert=<CA> and the password in MZ_PASSWORD_FILE
 * reaches it (the doctor's Materialize check); against another CA it is refused with the certificate error;
 * sslmode=require encrypts without checking; no pg security warning and no password in any log line.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { freePort, stopProcessGroup, type StartedProcess } from '../../local/processes';
import { startMzLocal } from '../../local/stack';
import { materializeClientConfig } from '../../platform/materialize-client-config';
import { useTestAwsConnection } from '../helpers/aws-connection';
import type { TestStack } from '../helpers/stack';
import { makeThrowawayCa, type ThrowawayCa } from '../helpers/throwaway-ca';
import { startWorkerProcess } from '../helpers/worker-process';
import { healthCheck } from '../../workflows';

describe('Materialize over TLS with sslmode=verify-full and a password file', function () {
  let stack: TestStack;
  useTestAwsConnection((suite) => ({ stack } = suite));
  let ca: ThrowawayCa;
  let otherCa: ThrowawayCa;
  let mz: { proc: StartedProcess; url: string };
  let dir: string;
  const password = 'app-password-Zq8';

  before(async function () {
    this.timeout(90_000);
    ca = makeThrowawayCa();
    otherCa = makeThrowawayCa('another CA');
    dir = path.join(stack.info.dir, 'mz-tls');
    mz = await startMzLocal(dir, await freePort(), stack.info.awsEndpoint, {
      args: ['--tls-cert', ca.files.serverCert, '--tls-key', ca.files.serverKey, '--password', password],
    });
  });
  after(async () => {
    if (mz) await stopProcessGroup(mz.proc.pid);
    ca?.remove();
    otherCa?.remove();
  });

  const urlWith = (query: string) => `${mz.url}?${query}`;

  it('pg with verify-full and the CA reaches it over TLS; with another CA it is refused', async () => {
    const client = new PgClient({ ...materializeClientConfig(urlWith(`sslmode=verify-full&sslrootcert=${ca.files.caCert}`)), password });
    await client.connect();
    try {
      assert.equal((await client.query('SELECT 1 AS one')).rows[0].one, 1);
      assert.equal((client as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream.encrypted, true, 'the session is TLS');
    } finally {
      await client.end();
    }
    const wrongCa = new PgClient({ ...materializeClientConfig(urlWith(`sslmode=verify-full&sslrootcert=${otherCa.files.caCert}`)), password });
    await assert.rejects(wrongCa.connect(), /self[- ]signed certificate|unable to verify|unable to get local issuer/);
  });

  it('the worker connects with verify-full, sslrootcert and MZ_PASSWORD_FILE; nothing secret or warned in its log', async function () {
    this.timeout(150_000);
    const pwFile = path.join(dir, 'mz-password');
    fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    const queue = 'mz-s3-export-mz-tls';
    const worker = await startWorkerProcess(
      {
        ...stack.env,
        TEMPORAL_TASK_QUEUE: queue,
        MZ_URL: urlWith(`sslmode=verify-full&sslrootcert=${ca.files.caCert}`),
        MZ_PASSWORD_FILE: pwFile,
        MZ_URL_WRONGCA: urlWith(`sslmode=verify-full&sslrootcert=${otherCa.files.caCert}`),
        MZ_PASSWORD_FILE_WRONGCA: pwFile,
        MZ_URL_REQUIRE: urlWith('sslmode=require'),
        MZ_PASSWORD_FILE_REQUIRE: pwFile,
      },
      { logDir: dir, name: 'worker-mz-tls' },
    );
    try {
      const check = async (profile?: string) =>
        stack.temporal.workflow.execute(healthCheck, {
          taskQueue: queue,
          workflowId: `health-mz-tls-${profile ?? 'default'}-${Date.now()}`,
          args: [{ materializeProfile: profile }],
          workflowExecutionTimeout: '1 minute',
        });
      assert.equal((await check()).materialize.ok, true);
      assert.equal((await check('require')).materialize.ok, true, 'require: encrypted, certificate not checked');
      const refused = (await check('wrongca')).materialize;
      assert.equal(refused.ok, false);
      assert.match(refused.error ?? '', /self[- ]signed certificate|unable to verify|unable to get local issuer/);
    } finally {
      await worker.stop();
    }
    const log = fs.readFileSync(worker.proc.logFile, 'utf8');
    assert.doesNotMatch(log, new RegExp(password));
    assert.doesNotMatch(log, /SECURITY WARNING/);
    for (const line of log.trim().split('\n')) JSON.parse(line);
  });
});
