import { strict as assert } from 'node:assert';
import { loadConfig, materializeUrl, redactUrl } from '../../platform/config';
import { InvalidInputError } from '../../common/failures';

describe('config from the environment', () => {
  it('fills the documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.temporal.address, '127.0.0.1:7233');
    assert.equal(c.temporal.namespace, 'default');
    assert.equal(c.temporal.taskQueue, 'mz-s3-export');
    assert.equal(c.temporal.tls, false);
    assert.equal(c.aws.region, undefined, "the AWS SDK's chain decides (test/unit/connection-config.test.ts)");
    assert.equal(c.aws.endpoint, undefined);
    assert.equal(c.materializeProfiles.default, 'postgres://materialize@127.0.0.1:6875/materialize');
  });

  it('reads profiles from MZ_URL_<NAME> and turns TLS on with an API key', () => {
    const c = loadConfig({ MZ_URL_PROD: 'postgres://u:pw@mz.example:6875/materialize', TEMPORAL_API_KEY: 'k' });
    assert.equal(materializeUrl(c, 'prod'), 'postgres://u:pw@mz.example:6875/materialize');
    assert.equal(c.temporal.tls, true);
  });

  it('names every wrong variable in one error, and says what to write', () => {
    assert.throws(
      () =>
        loadConfig({
          TEMPORAL_ADDRESS: 'localhost',
          AWS_REGION: 'Europe',
          AWS_ENDPOINT_URL: 'ftp://x',
          MZ_URL: 'mysql://x',
          TEMPORAL_TLS: 'maybe',
        }),
      (e: Error) => {
        assert.ok(e instanceof InvalidInputError);
        for (const v of ['TEMPORAL_ADDRESS', 'AWS_REGION', 'AWS_ENDPOINT_URL', 'MZ_URL', 'TEMPORAL_TLS']) {
          assert.match(e.message, new RegExp(`${v}:`));
        }
        assert.match(e.message, /127\.0\.0\.1:7233/);
        return true;
      },
    );
  });

  it('never shows a password in an error or a description', () => {
    assert.throws(() => loadConfig({ MZ_URL: 'mysql://me:hunter2@h/db' }), (e: Error) => !e.message.includes('hunter2'));
    // A password with an unencoded '/' is refused at start, and the message does not repeat any of it.
    for (const url of ['postgres://me:hunter2/x@h:6875/db', 'postgres://me:1234/hunter2@h:6875/db'])
      assert.throws(() => loadConfig({ MZ_URL_PROD: url }), (e: Error) => /MZ_URL_PROD: .*percent-encode/.test(e.message) && !e.message.includes('hunter2'));
    assert.equal(redactUrl('postgres://me:hunter2@h:6875/db'), 'postgres://me:***@h:6875/db');
  });

  it('an unknown profile says which variable to set', () => {
    assert.throws(() => materializeUrl(loadConfig({}), 'prod'), /MZ_URL_PROD/);
  });
});
