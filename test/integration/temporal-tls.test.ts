/**
 * mTLS to Temporal with a throwaway CA. The dev server has no TLS options, so a TLS-terminating proxy (ALPN h2,
 * client certificate required) stands in front of the shared stack's dev server. The worker connects with
 * TEMPORAL_TLS_* variables, the CLI with a temporal.toml profile (TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE), both
 * present the client certificate and verify the server against the CA; mistakes get messages naming the cause.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT, spawnWorker } from '../../local/stack';
import { useTestAwsConnection } from '../helpers/aws-connection';
import type { TestStack } from '../helpers/stack';
import { makeThrowawayCa, type ThrowawayCa } from '../helpers/throwaway-ca';
import { startTlsProxy, type TlsProxy } from '../helpers/tls-proxy';
import { startWorkerProcess } from '../helpers/worker-process';

describe('Temporal over mTLS with a throwaway CA', function () {
  let stack: TestStack;
  useTestAwsConnection((suite) => ({ stack } = suite));
  let ca: ThrowawayCa;
  let otherCa: ThrowawayCa;
  let proxy: TlsProxy;
  let dir: string;
  let base: Record<string, string>;

  before(async function () {
    this.timeout(30_000);
    ca = makeThrowawayCa();
    otherCa = makeThrowawayCa('another CA');
    proxy = await startTlsProxy({ target: stack.info.temporalAddress, cert: ca.serverCert, key: ca.serverKey, ca: ca.caCert });
    dir = path.join(stack.info.dir, 'tls');
    fs.mkdirSync(dir, { recursive: true });
    // Everything but Temporal from the shared stack; no TEMPORAL_ADDRESS so a profile can supply it.
    base = Object.fromEntries(Object.entries(stack.env).filter(([k]) => k !== 'TEMPORAL_ADDRESS'));
  });
  after(async () => {
    await proxy?.close();
    ca?.remove();
    otherCa?.remove();
  });

  // Asynchronous: the proxy runs in this process and must keep answering while the CLI runs.
  const cli = (args: string[], env: Record<string, string>) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', path.join(PROJECT_ROOT, 'client', 'main.ts'), ...args],
        { cwd: PROJECT_ROOT, env: { ...withoutTemporalVars(process.env), ...env }, encoding: 'utf8', timeout: 60_000 },
        (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  it('the worker connects with TEMPORAL_TLS_* files and presents its client certificate', async function () {
    this.timeout(120_000);
    const worker = await startWorkerProcess(
      {
        ...base,
        TEMPORAL_ADDRESS: proxy.address,
        TEMPORAL_TASK_QUEUE: 'mz-s3-export-tls',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca.files.caCert,
        TEMPORAL_TLS_CLIENT_CERT_PATH: ca.files.clientCert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: ca.files.clientKey,
      },
      { logDir: dir, name: 'worker-tls' },
    );
    try {
      const log = fs.readFileSync(worker.proc.logFile, 'utf8');
      assert.match(log, new RegExp(`TLS \\(server CA from ${ca.files.caCert}, client certificate from ${ca.files.clientCert}\\)`));
      assert.ok(proxy.acceptedClients.includes('mz-s3-export-worker'), `accepted: ${proxy.acceptedClients}`);
      // The CLI, from a temporal.toml profile, runs a workflow on that worker through the proxy.
      const toml = path.join(dir, 'temporal.toml');
      fs.writeFileSync(
        toml,
        `[profile.tls]\naddress = "${proxy.address}"\nnamespace = "default"\n[profile.tls.tls]\n` +
          `server_ca_cert_path = "${ca.files.caCert}"\nclient_cert_path = "${ca.files.clientCert}"\nclient_key_path = "${ca.files.clientKey}"\n`,
      );
      const doctor = await cli(['doctor'], { ...base, TEMPORAL_TASK_QUEUE: 'mz-s3-export-tls', TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'tls' });
      assert.equal(doctor.status, 0, doctor.stdout + doctor.stderr);
      assert.equal(JSON.parse(doctor.stdout).s3.ok, true);
    } finally {
      await worker.stop();
    }
  });

  it('a server certificate from another CA: the worker exits saying which CA it tried and what to set', async () => {
    const proc = spawnWorker(
      'worker-tls-wrong-ca',
      {
        ...withoutTemporalVars(process.env),
        ...base,
        TEMPORAL_ADDRESS: proxy.address,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: otherCa.files.caCert,
        TEMPORAL_TLS_CLIENT_CERT_PATH: ca.files.clientCert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: ca.files.clientKey,
      },
      { logDir: dir },
    );
    assert.equal(await proc.exited, 1);
    const log = fs.readFileSync(proc.logFile, 'utf8');
    assert.match(log, new RegExp(`server CA from ${otherCa.files.caCert}`));
    assert.match(log, /not signed by a CA this side trusts: set TEMPORAL_TLS_SERVER_CA_CERT_PATH/);
  });

  it('the CLI without a client certificate, and over plain TCP to the TLS port, is told what to set', async () => {
    const noCert = await cli(['setup', 'temporal', '--check'], { ...base, TEMPORAL_ADDRESS: proxy.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca.files.caCert });
    assert.notEqual(noCert.status, 0);
    assert.match(noCert.stderr, /wants a client certificate .*: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/);
    assert.doesNotMatch(noCert.stderr, /\n\s+at /, 'no stack trace');

    const plain = await cli(['setup', 'temporal', '--check'], { ...base, TEMPORAL_ADDRESS: proxy.address });
    assert.notEqual(plain.status, 0);
    assert.match(plain.stderr, /tried environment variables; plain TCP, no TLS/);
  });
});

/** The test process may hold the stack's TEMPORAL_* variables; each case sets its own. */
function withoutTemporalVars(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('TEMPORAL_')));
}
