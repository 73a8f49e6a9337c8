import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../platform/config';
import { loadStorageProfiles, storageCredentials, StorageClients } from '../../platform/storage-profiles';
import { scrub, secretValuesFromEnv } from '../../platform/secret-values';
import { resolveCompatibleOffboardInput, resolveCompatibleOnboardInput, resolveOnboardInput } from '../../common/onboarding/input';
import { resolveExportInput } from '../../common/export/input';
import { parseScheduleFile } from '../../client/schedules/file';
import { createAccessKeyConnectionSql, setSecretSql } from '../../common/onboarding/sql';

const P = 'MZ_S3_EXPORT_STORAGE_';

describe('storage profiles (S3-compatible stores in the worker config)', () => {
  it('reads a profile with keys from the environment, and one with a credentials file and a Materialize-side endpoint', () => {
    const { profiles, problems } = loadStorageProfiles({
      [`${P}R2_ENDPOINT`]: 'https://acct.r2.cloudflarestorage.com',
      [`${P}R2_REGION`]: 'auto',
      [`${P}R2_ACCESS_KEY_ID`]: 'AKIDR2',
      [`${P}R2_SECRET_ACCESS_KEY`]: 'secret-r2-value',
      [`${P}LOCAL_ENDPOINT`]: 'http://127.0.0.1:5000',
      [`${P}LOCAL_MATERIALIZE_ENDPOINT`]: 'http://moto:5000',
      [`${P}LOCAL_ALLOW_HTTP`]: 'true',
      [`${P}LOCAL_REGION`]: 'us-east-1',
      [`${P}LOCAL_CREDENTIALS_FILE`]: '/run/secrets/local',
      [`${P}LOCAL_PATH_STYLE`]: 'false',
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(profiles.r2, {
      name: 'r2',
      endpoint: 'https://acct.r2.cloudflarestorage.com',
      materializeEndpoint: 'https://acct.r2.cloudflarestorage.com',
      region: 'auto',
      forcePathStyle: true,
      credentials: { kind: 'env', accessKeyId: 'AKIDR2', secretAccessKey: 'secret-r2-value' },
    });
    assert.equal(profiles.local.materializeEndpoint, 'http://moto:5000');
    assert.equal(profiles.local.forcePathStyle, false);
    assert.deepEqual(profiles.local.credentials, { kind: 'file', path: '/run/secrets/local', section: 'default' });
  });

  it('refuses what would leak or cannot work, naming the variable and the fix', () => {
    const err = (() => {
      try {
        loadConfig({
          [`${P}GCS_ENDPOINT`]: 'http://storage.example.com',
          [`${P}GCS_REGION`]: 'us',
          [`${P}GCS_ACCESS_KEY_ID`]: 'x',
          [`${P}NOREGION_ENDPOINT`]: 'https://s3.example.com/bucket',
          [`${P}BOTH_ENDPOINT`]: 'https://s3.example.com',
          [`${P}BOTH_REGION`]: 'eu',
          [`${P}BOTH_ACCESS_KEY_ID`]: 'a',
          [`${P}BOTH_SECRET_ACCESS_KEY`]: 'b',
          [`${P}BOTH_CREDENTIALS_FILE`]: '/f',
          [`${P}TYPO_ENDPIONT`]: 'https://x',
        });
      } catch (e) {
        return (e as Error).message;
      }
      assert.fail('accepted');
    })();
    assert.match(err, /MZ_S3_EXPORT_STORAGE_GCS_ENDPOINT: http:\/\/storage\.example\.com is plain http to a host that is not this machine.*use https/);
    assert.match(err, /storage profile gcs has no credentials: set MZ_S3_EXPORT_STORAGE_GCS_ACCESS_KEY_ID and MZ_S3_EXPORT_STORAGE_GCS_SECRET_ACCESS_KEY/);
    assert.match(err, /MZ_S3_EXPORT_STORAGE_NOREGION_ENDPOINT: write only the scheme, host and port/);
    assert.match(err, /MZ_S3_EXPORT_STORAGE_NOREGION_REGION: required/);
    assert.match(err, /MZ_S3_EXPORT_STORAGE_BOTH_CREDENTIALS_FILE: set either it or ACCESS_KEY_ID and SECRET_ACCESS_KEY for profile both, not both/);
    assert.match(err, /MZ_S3_EXPORT_STORAGE_TYPO_ENDPIONT: not a storage profile setting/);
  });

  it('reads a credentials file again at each use (a rotated key needs no restart) and scrubs what it read', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mz-storage-')), 'creds');
    const write = (id: string, secret: string) => fs.writeFileSync(file, `[default]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}\n`);
    write('AKIDFIRST1', 'first-secret-value');
    const clients = new StorageClients(loadStorageProfiles({ [`${P}F_ENDPOINT`]: 'https://s3.example.com', [`${P}F_REGION`]: 'eu', [`${P}F_CREDENTIALS_FILE`]: file }).profiles);
    assert.deepEqual(await storageCredentials(clients.profile('f')), { accessKeyId: 'AKIDFIRST1', secretAccessKey: 'first-secret-value' });
    write('AKIDSECOND', 'second-secret-value');
    assert.deepEqual(await storageCredentials(clients.profile('f')), { accessKeyId: 'AKIDSECOND', secretAccessKey: 'second-secret-value' });
    assert.equal(scrub('key AKIDSECOND / second-secret-value'), 'key *** / ***');
    fs.writeFileSync(file, '[other]\naws_access_key_id = x\n');
    await assert.rejects(storageCredentials(clients.profile('f')), /has no \[default\] section with aws_access_key_id and aws_secret_access_key/);
    assert.throws(() => clients.s3('nope'), /unknown storage profile "nope": set MZ_S3_EXPORT_STORAGE_NOPE_ENDPOINT, MZ_S3_EXPORT_STORAGE_NOPE_REGION and its credentials on the worker \(known: f\)/);
    clients.destroy();
  });

  it("the worker's secret net holds the profiles' keys from the environment", () => {
    const values = secretValuesFromEnv({ [`${P}R2_ACCESS_KEY_ID`]: 'AKIDENVKEY', [`${P}R2_SECRET_ACCESS_KEY`]: 'env-secret-value', [`${P}R2_REGION`]: 'auto' });
    assert.ok(values.includes('AKIDENVKEY') && values.includes('env-secret-value') && !values.includes('auto'));
  });
});

describe('inputs naming a storage profile', () => {
  const base = { storageProfile: 'r2', bucket: 'acme', prefix: 'exports/', connectionName: 'r2_conn' };

  it('onboarding and offboarding take the profile and refuse the AWS-only fields, saying why', () => {
    assert.deepEqual(resolveCompatibleOnboardInput(base), {
      storageProfile: 'r2',
      bucket: 'acme',
      prefix: 'exports',
      connectionName: 'r2_conn',
      materializeProfile: 'default',
      stepTimeoutSeconds: 300,
      retry: { initialIntervalSeconds: 2, maximumIntervalSeconds: 30, backoffCoefficient: 2 },
    });
    assert.throws(
      () => resolveCompatibleOnboardInput({ ...base, roleName: 'r', createBucket: true, storageProfile: 'R2!' }),
      (e: Error) =>
        /roleName: applies to AWS S3 only/.test(e.message) && /createBucket: applies to AWS S3 only/.test(e.message) && /storageProfile: "R2!" is not a storage profile name/.test(e.message),
    );
    assert.throws(() => resolveOnboardInput({ ...base, roleName: 'r', policyName: 'p' }), /storageProfile: names an S3-compatible store/);
    assert.equal(resolveCompatibleOffboardInput({ storageProfile: 'r2', connectionName: 'r2_conn' }).deleteData, false);
    assert.throws(() => resolveCompatibleOffboardInput({ storageProfile: 'r2', connectionName: 'r2_conn', policyName: 'p' }), /policyName: applies to AWS S3 only/);
  });

  it('exports and schedule entries carry it to the workflow', () => {
    const input = { exportName: 'e', connectionName: 'c', object: 't', bucket: 'acme', prefix: 'x', format: 'csv' as const, storageProfile: 'r2' };
    assert.equal(resolveExportInput(input).storageProfile, 'r2');
    assert.throws(() => resolveExportInput({ ...input, storageProfile: 'R 2' }), /storageProfile: "R 2" is not a storage profile name/);
    // A key or secret pasted into the field is described, never repeated (the error reaches history and logs).
    for (const pasted of ['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', { secret: 'hunter2-hunter2' }]) {
      assert.throws(
        () => resolveExportInput({ ...input, storageProfile: pasted as string }),
        (e: Error) => /storageProfile: a (text of \d+ characters|object) is not a storage profile name/.test(e.message) && !/AKIAIOSFODNN7EXAMPLE|wJalrXUtnFEMI|hunter2/.test(e.message),
      );
    }
    const file = parseScheduleFile(
      'version: 1\nscheduleSet: s\ndefaults:\n  connectionName: c\n  bucket: acme\n  prefix: x\n  storageProfile: r2\nexports:\n  - name: e\n    object: t\n    format: csv\n    cron: "0 3 * * *"\n',
    );
    assert.equal((file.entries[0]?.input as { storageProfile?: string } | undefined)?.storageProfile, 'r2');
  });

  it("the SQL follows Materialize's guide: secrets for both halves of the key, ENDPOINT and REGION, no VALIDATE", () => {
    assert.equal(
      createAccessKeyConnectionSql('r2_conn', 'https://acct.r2.cloudflarestorage.com', 'auto'),
      `CREATE CONNECTION "r2_conn" TO AWS (ACCESS KEY ID = SECRET "r2_conn_access_key_id", SECRET ACCESS KEY = SECRET "r2_conn_secret_access_key", ENDPOINT = 'https://acct.r2.cloudflarestorage.com', REGION = 'auto') WITH (VALIDATE = false)`,
    );
    assert.equal(setSecretSql('s', "it's", false), `CREATE SECRET "s" AS 'it''s'`);
    assert.equal(setSecretSql('s', 'v', true), `ALTER SECRET "s" AS 'v'`);
  });
});
