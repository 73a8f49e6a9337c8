/**
 * Secrets and access-key AWS connections for S3 compatible object storage: CREATE/ALTER/DROP SECRET and mz_secrets
 * (src/catalog/src/builtin.rs MZ_SECRETS; src/sql/src/plan/error.rs DependentObjectsStillExist), AWS connections with
 * ACCESS KEY ID, SECRET ACCESS KEY = SECRET, SESSION TOKEN, ENDPOINT, REGION (src/sql/src/plan/statement/ddl/connection.rs;
 * src/sql/src/plan/with_options.rs Secret: `must provide a secret value`), COPY TO with them and VALIDATE CONNECTION
 * (src/storage-types/src/connections/aws.rs AwsConnection::validate; doc/user/content/serve-results/sink/s3_compatible.md).
 */
import * as assert from 'node:assert/strict';
import type { Client } from 'pg';
import { expectPgError, listKeys, setupKeyUser, uniqueName, useSuite, type SharedStack } from './helpers';

describe('mz-local secrets and access-key connections (src/sql/src/plan/statement/ddl/connection.rs)', function () {
  let stack: SharedStack;
  let c: Client;
  let keyId: string;
  let secretKey: string;
  let bucket: string;
  const name = (p: string) => uniqueName(p).replace(/-/g, '_');

  useSuite({ clients: 1 }, (t) => ({ stack, clients: [c] } = t));

  before(async () => {
    // an IAM user with an access key and a policy for one bucket prefix, as an S3 compatible service's keys
    ({ bucket, accessKeyId: keyId, secretAccessKey: secretKey } = await setupKeyUser(stack.moto));
  });

  it('CREATE SECRET stores a value mz_secrets never shows; ALTER SECRET replaces it; SHOW SECRETS lists it', async () => {
    const s = name('sec');
    await c.query(`CREATE SECRET ${s} AS 'very-secret-value'`);
    const r = await c.query(`SELECT * FROM mz_catalog.mz_secrets WHERE name = $1`, [s]);
    assert.deepEqual(r.fields.map((f) => f.name), ['id', 'oid', 'schema_id', 'name', 'owner_id', 'privileges']);
    assert.match(r.rows[0].id, /^u\d+$/);
    assert.equal((await c.query(`SELECT type FROM mz_objects WHERE name = $1`, [s])).rows[0].type, 'secret');
    assert.deepEqual((await c.query(`SHOW SECRETS LIKE '${s}'`)).rows, [{ name: s, comment: '' }]);
    await c.query(`ALTER SECRET ${s} AS decode('c2VjcmV0', 'base64')`);
    const dump = JSON.stringify((await c.query(`SELECT * FROM mz_objects o LEFT JOIN mz_secrets s USING (id)`)).rows);
    assert.doesNotMatch(dump, /very-secret-value/);
    assert.equal((await expectPgError(() => c.query(`CREATE SECRET ${s} AS 'x'`))).message, `secret "materialize.public.${s}" already exists`);
    assert.equal((await expectPgError(() => c.query(`ALTER SECRET nope_${s} AS 'x'`))).message, `unknown catalog item 'nope_${s}'`);
    await c.query(`DROP SECRET ${s}`);
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_secrets WHERE name = $1`, [s])).rows[0].n, 0);
  });

  it('an access-key connection shows key id and secret ids in mz_aws_connections, never the secret', async () => {
    const s = name('sak');
    const conn = name('compat');
    await c.query(`CREATE SECRET ${s} AS '${secretKey}'`);
    await c.query(
      `CREATE CONNECTION ${conn} TO AWS (ACCESS KEY ID = '${keyId}', SECRET ACCESS KEY = SECRET ${s}, ENDPOINT = '${stack.moto.endpoint}', REGION = 'us-east-1')`,
    );
    const row = (
      await c.query(
        `SELECT a.*, c.create_sql, c.redacted_create_sql FROM mz_internal.mz_aws_connections a JOIN mz_connections c USING (id) WHERE c.name = $1`,
        [conn],
      )
    ).rows[0];
    const secretId = (await c.query(`SELECT id FROM mz_secrets WHERE name = $1`, [s])).rows[0].id;
    assert.equal(row.access_key_id, keyId);
    assert.equal(row.secret_access_key_secret_id, secretId);
    assert.equal(row.access_key_id_secret_id, null);
    assert.equal(row.endpoint, stack.moto.endpoint);
    assert.equal(row.assume_role_arn, null);
    assert.equal(row.principal, null);
    assert.equal(row.external_id, null);
    assert.match(row.create_sql, new RegExp(`SECRET ACCESS KEY = SECRET "materialize"."public"."${s}"`));
    assert.match(row.redacted_create_sql, /ACCESS KEY ID = '<REDACTED>'/);
    assert.doesNotMatch(JSON.stringify(row), new RegExp(secretKey.replace(/[^A-Za-z0-9]/g, '.')));
    const dropErr = await expectPgError(() => c.query(`DROP SECRET ${s}`));
    assert.equal(dropErr.message, `cannot drop secret "${s}": still depended upon by connection "${conn}"`);
    await c.query(`DROP SECRET ${s} CASCADE`);
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_connections WHERE name = $1`, [conn])).rows[0].n, 0);
  });

  it('option errors as Materialize words them', async () => {
    const conn = name('bad');
    assert.equal(
      (await expectPgError(() => c.query(`CREATE CONNECTION ${conn} TO AWS (ACCESS KEY ID = 'a', SECRET ACCESS KEY = 'plain')`))).message,
      'invalid SECRET ACCESS KEY: must provide a secret value',
    );
    assert.equal(
      (await expectPgError(() => c.query(`CREATE CONNECTION ${conn} TO AWS (ACCESS KEY ID = 'a', SECRET ACCESS KEY = SECRET missing_${conn})`))).message,
      `unknown catalog item 'missing_${conn}'`,
    );
    assert.equal(
      (await expectPgError(() => c.query(`CREATE CONNECTION ${conn} TO AWS (ACCESS KEY ID = 'a')`))).message,
      'must specify both ACCESS KEY ID and SECRET ACCESS KEY with optional SESSION TOKEN',
    );
  });

  it('COPY TO an S3 compatible endpoint with the connection\'s keys, IAM enforced for the key\'s user; VALIDATE fails there as documented', async () => {
    const s = name('sak');
    const idSecret = name('akid');
    const conn = name('compat');
    await c.query(`CREATE SECRET ${s} AS '${secretKey}'`);
    await c.query(`CREATE SECRET ${idSecret} AS '${keyId}'`);
    await c.query(
      `CREATE CONNECTION ${conn} TO AWS (ACCESS KEY ID = SECRET ${idSecret}, SECRET ACCESS KEY = SECRET ${s}, ENDPOINT = '${stack.moto.endpoint}', REGION = 'us-east-1')`,
    );
    const copy = (path: string) =>
      c.query(`COPY (SELECT generate_series(1, 5) AS n) TO 's3://${bucket}/${path}' WITH (AWS CONNECTION = ${conn}, FORMAT = 'csv')`);
    assert.equal((await copy('exports/compat-1')).rowCount, 5);
    const keys = await listKeys(stack.moto, bucket, 'exports/compat-1/');
    assert.ok(keys.length >= 1);
    for (const k of keys) assert.match(k, /^exports\/compat-1\/mz-t\d+-batch-\d{4}-0001\.csv$/);
    // the key's user may write only under exports/
    const denied = await expectPgError(() => copy('elsewhere/x'));
    assert.match(denied.message, /^AccessDenied: User: arn:aws:iam::\d{12}:user\/exporter-\S+ is not authorized to perform: s3:ListBucket/);
    // VALIDATE CONNECTION: S3 compatible storage has no STS
    const v = await expectPgError(() => c.query(`VALIDATE CONNECTION ${conn}`));
    assert.equal(v.code, '58000');
    assert.match(v.message, /GetCallerIdentity is not available at the S3 compatible endpoint/);
    // the key id comes from a secret: altering it takes effect at the next COPY, with S3's error for unknown keys
    await c.query(`ALTER SECRET ${idSecret} AS 'AKIAUNKNOWNKEY000000'`);
    const unknown = await expectPgError(() => copy('exports/compat-2'));
    assert.equal(unknown.message, 'InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.');
    assert.doesNotMatch(JSON.stringify([denied, v, unknown]), new RegExp(secretKey.replace(/[^A-Za-z0-9]/g, '.')));
    assert.deepEqual(await listKeys(stack.moto, bucket, 'exports/compat-2'), []);
  });

  it('VALIDATE CONNECTION of an access-key connection to AWS calls STS GetCallerIdentity with the keys', async () => {
    const s = name('sak');
    const good = name('aws_keys');
    const bad = name('aws_bad_keys');
    await c.query(`CREATE SECRET ${s} AS '${secretKey}'`);
    await c.query(`CREATE CONNECTION ${good} TO AWS (ACCESS KEY ID = '${keyId}', SECRET ACCESS KEY = SECRET ${s}, SESSION TOKEN = 'tok')`);
    const r = await c.query(`VALIDATE CONNECTION ${good}`);
    assert.equal(r.command, 'VALIDATE');
    assert.equal((await c.query(`SELECT session_token FROM mz_internal.mz_aws_connections a JOIN mz_connections USING (id) WHERE name = $1`, [good])).rows[0].session_token, 'tok');
    await c.query(`CREATE CONNECTION ${bad} TO AWS (ACCESS KEY ID = 'AKIANOTAKEY000000000', SECRET ACCESS KEY = SECRET ${s})`);
    assert.equal(
      (await expectPgError(() => c.query(`VALIDATE CONNECTION ${bad}`))).message,
      'InvalidClientTokenId: The security token included in the request is invalid.',
    );
  });
});
