/**
 * Connection settings read the way the Temporal CLI, the AWS CLI and psql read them: Temporal env-config profiles
 * (temporal.toml, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE, TEMPORAL_TLS_*), the AWS profile's region from its config
 * file, libpq's sslmode and password sources for Materialize. Real files in a temporary folder, no network.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../platform/config';
import { createAwsClients, destroyAwsClients } from '../../platform/aws-clients';
import { InvalidInputError } from '../../common/failures';
import { materializeClientConfig } from '../../platform/materialize-client-config';

describe('connection settings like the Temporal CLI, the AWS CLI and psql', () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mz-s3-export-conf-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('Temporal', () => {
    it('reads a temporal.toml profile with mTLS files, and environment variables override it', () => {
      const crt = file('client.crt', 'CERT');
      const key = file('client.key', 'KEY');
      const ca = file('ca.crt', 'CA');
      const toml = file(
        'temporal.toml',
        `[profile.prod]\naddress = "prod.example:7233"\nnamespace = "exports"\n` +
          `[profile.prod.tls]\nclient_cert_path = "${crt}"\nclient_key_path = "${key}"\nserver_ca_cert_path = "${ca}"\nserver_name = "temporal.internal"\n`,
      );
      const c = loadConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' });
      assert.equal(c.temporal.address, 'prod.example:7233');
      assert.equal(c.temporal.namespace, 'exports');
      assert.equal(c.temporal.tls, true);
      const tls = c.temporal.connection.tls as { clientCertPair: { crt: Uint8Array; key: Uint8Array }; serverRootCACertificate: Uint8Array; serverNameOverride: string };
      const text = (b: Uint8Array) => Buffer.from(b).toString();
      assert.equal(text(tls.clientCertPair.crt), 'CERT');
      assert.equal(text(tls.clientCertPair.key), 'KEY');
      assert.equal(text(tls.serverRootCACertificate), 'CA');
      assert.equal(tls.serverNameOverride, 'temporal.internal');
      assert.match(c.temporal.description, new RegExp(`profile "prod" of ${toml}`));
      assert.match(c.temporal.description, new RegExp(`client certificate from ${crt}`));

      const overridden = loadConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod', TEMPORAL_ADDRESS: 'other.example:7233', TEMPORAL_NAMESPACE: 'ns2' });
      assert.equal(overridden.temporal.address, 'other.example:7233');
      assert.equal(overridden.temporal.namespace, 'ns2');
    });

    it('takes certificates as data (TEMPORAL_TLS_*_DATA) and an API key, never describing a secret', () => {
      const c = loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'sekrit-key', TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'PEM-CA' });
      assert.equal(c.temporal.connection.apiKey, 'sekrit-key');
      assert.equal(Buffer.from((c.temporal.connection.tls as { serverRootCACertificate: Uint8Array }).serverRootCACertificate).toString(), 'PEM-CA');
      assert.match(c.temporal.description, /TLS \(server CA from inline data\); API key/);
      assert.doesNotMatch(c.temporal.description, /sekrit/);
      assert.equal(loadConfig({}).temporal.description, 'environment variables; plain TCP, no TLS');
    });

    it('a missing profile, an unreadable certificate or a certificate without its key is an error saying which', () => {
      const toml = file('temporal.toml', '[profile.default]\naddress = "a:1"\n');
      assert.throws(() => loadConfig({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'nope' }), /Temporal profile "nope" .*temporal\.toml.*'nope' not found/s);
      assert.throws(
        () => loadConfig({ TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'missing.crt'), TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(dir, 'missing.key') }),
        /cannot read a Temporal TLS file: .*missing\.crt/,
      );
      assert.throws(() => loadConfig({ TEMPORAL_TLS_CLIENT_CERT_DATA: 'CERT' }), /not its key: set TEMPORAL_TLS_CLIENT_KEY_PATH/);
    });
  });

  describe('AWS', () => {
    const saved: Record<string, string | undefined> = {};
    const cleared = ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_CONFIG_FILE'];
    beforeEach(() => cleared.forEach((k) => ((saved[k] = process.env[k]), delete process.env[k])));
    afterEach(() => cleared.forEach((k) => (saved[k] === undefined ? delete process.env[k] : (process.env[k] = saved[k]))));

    it("takes the region of AWS_PROFILE from its config file, as the AWS CLI does; AWS_REGION wins", async () => {
      const config = file('aws-config', '[default]\nregion = ap-south-1\n[profile exports]\nregion = eu-west-2\n');
      const fromProfile = createAwsClients(loadConfig({ AWS_PROFILE: 'exports', AWS_CONFIG_FILE: config }).aws);
      const fromEnv = createAwsClients(loadConfig({ AWS_PROFILE: 'exports', AWS_CONFIG_FILE: config, AWS_REGION: 'us-west-2' }).aws);
      const fromDefault = createAwsClients(loadConfig({ AWS_CONFIG_FILE: config }).aws);
      try {
        assert.equal(await fromProfile.s3.config.region(), 'eu-west-2');
        assert.equal(await fromProfile.iam.config.region(), 'eu-west-2');
        assert.equal(await fromEnv.s3.config.region(), 'us-west-2');
        assert.equal(await fromDefault.s3.config.region(), 'ap-south-1');
      } finally {
        [fromProfile, fromEnv, fromDefault].forEach(destroyAwsClients);
      }
    });

    it('no region anywhere is an error naming what to set (no silent us-east-1)', async () => {
      const clients = createAwsClients(loadConfig({ AWS_CONFIG_FILE: file('empty', '[default]\n') }).aws);
      try {
        await assert.rejects(clients.s3.config.region(), (e: Error) => e instanceof InvalidInputError && /set AWS_REGION/.test(e.message));
      } finally {
        destroyAwsClients(clients);
      }
    });
  });

  describe('Materialize', () => {
    it("reads sslmode with libpq's meaning and without pg's warning; verify-full loads sslrootcert", () => {
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(w.message);
      process.on('warning', onWarning);
      try {
        const ca = file('mz-ca.crt', 'MZ-CA');
        const require_ = materializeClientConfig('postgres://u@mz.example:6875/materialize?sslmode=require');
        assert.deepEqual({ ...(require_.ssl as object) }, { rejectUnauthorized: false });
        const full = materializeClientConfig(`postgres://u@mz.example:6875/materialize?sslmode=verify-full&sslrootcert=${ca}`);
        assert.deepEqual({ ...(full.ssl as object) }, { ca: 'MZ-CA' });
        assert.equal(materializeClientConfig('postgres://u@h/materialize?sslmode=disable').ssl, false);
        assert.throws(() => materializeClientConfig('postgres://u@h/materialize?sslmode=verify-ca'), /sslrootcert/);
        assert.throws(() => materializeClientConfig(`postgres://u@h/m?sslmode=verify-full&sslrootcert=${dir}/none.crt`), /none\.crt does not exist/);
      } finally {
        process.off('warning', onWarning);
      }
      assert.deepEqual(warnings, []);
    });

    it('takes the password from the URL, else MZ_PASSWORD_FILE (read at each connect), else PGPASSWORD', () => {
      const pwFile = file('mz-password', 'app-password-1\n');
      const c = loadConfig({ MZ_URL: 'postgres://svc@mz.example:6875/materialize', MZ_PASSWORD_FILE: pwFile, PGPASSWORD: 'from-env' });
      const connect = () => materializeClientConfig(c.materializeProfiles.default, c.materializePasswords.default);
      assert.equal(connect().password, 'app-password-1');
      fs.writeFileSync(pwFile, 'app-password-2');
      assert.equal(connect().password, 'app-password-2', 'a rotated password is picked up');
      const envOnly = loadConfig({ PGPASSWORD: 'from-env' });
      assert.equal(materializeClientConfig(envOnly.materializeProfiles.default, envOnly.materializePasswords.default).password, 'from-env');
      const inUrl = loadConfig({ MZ_URL: 'postgres://svc:in-url@h/materialize', PGPASSWORD: 'from-env' });
      assert.equal(materializeClientConfig(inUrl.materializeProfiles.default, inUrl.materializePasswords.default).password, 'in-url');
      const prof = loadConfig({ MZ_URL_PROD: 'postgres://svc@p/materialize', MZ_PASSWORD_FILE_PROD: pwFile });
      assert.equal(materializeClientConfig(prof.materializeProfiles.prod, prof.materializePasswords.prod).password, 'app-password-2');
      assert.throws(() => loadConfig({ MZ_PASSWORD_FILE: path.join(dir, 'nope') }), /MZ_PASSWORD_FILE: .*nope does not exist/);
    });
  });
});
