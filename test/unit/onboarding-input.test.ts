import { strict as assert } from 'node:assert';
import { InvalidInputError } from '../../common/failures';
import { backoffMs, resolveOffboardInput, resolveOnboardInput } from '../../common/onboarding/input';

const good = {
  bucket: 'acme-exports',
  prefix: 'materialize/',
  roleName: 'mz-s3-export',
  policyName: 'mz-s3-export-write',
  connectionName: 's3_export_conn',
};

function rejects(input: unknown, ...patterns: RegExp[]) {
  assert.throws(
    () => resolveOnboardInput(input),
    (e: Error) => {
      assert.ok(e instanceof InvalidInputError, String(e));
      for (const p of patterns) assert.match(e.message, p);
      return true;
    },
  );
}

describe('onboarding input', () => {
  it('fills the defaults in one place and normalizes the prefix', () => {
    assert.deepEqual(resolveOnboardInput(good), {
      ...good,
      prefix: 'materialize',
      createBucket: true,
      region: undefined,
      materializePrincipal: undefined,
      materializeProfile: 'default',
      validationTimeoutSeconds: 600,
      stepTimeoutSeconds: 300,
      retry: { initialIntervalSeconds: 2, maximumIntervalSeconds: 30, backoffCoefficient: 2 },
    });
  });

  it('rejects an invalid bucket name, saying the rule', () => {
    rejects({ ...good, bucket: 'Acme_Exports' }, /bucket: "Acme_Exports" may contain only lower-case letters/);
  });

  it("rejects a prefix with '..' or a leading '/', or IAM wildcards", () => {
    rejects({ ...good, prefix: 'a/../b' }, /prefix: .*'\.\.'/);
    rejects({ ...good, prefix: '/exports' }, /prefix: .*must not start with '\/'/);
    rejects({ ...good, prefix: 'exports/*' }, /prefix: .*wildcards/);
  });

  it('rejects a bad principal ARN', () => {
    rejects({ ...good, materializePrincipal: 'arn:aws:iam::12:role/x' }, /materializePrincipal: .*is not an IAM role ARN/);
    rejects({ ...good, materializePrincipal: 'MaterializeConnection' }, /materializePrincipal/);
  });

  it('rejects connection names that would need quoting', () => {
    for (const name of ['S3Conn', 'my-conn', 'my conn', 'conn"x', '1conn', 'a.b', '']) {
      rejects({ ...good, connectionName: name }, /connectionName: .*would need quoting/);
    }
  });

  it('reports every problem at once, unknown fields included', () => {
    rejects(
      { ...good, bucket: 'x', roleName: 'bad role', bukcet: 'typo', retry: { initialIntervalSeconds: -1 } },
      /bucket:/,
      /roleName:/,
      /bukcet: is not a known field/,
      /retry.initialIntervalSeconds:/,
    );
  });

  it('rejects what is not one object', () => {
    rejects(null, /one JSON object/);
    rejects([good], /one JSON object/);
    rejects('{"bucket":"x"}', /one JSON object/);
  });

  it('checks types of optional fields', () => {
    rejects({ ...good, createBucket: 'no' }, /createBucket: "no" must be true or false/);
    rejects({ ...good, validationTimeoutSeconds: '60' }, /validationTimeoutSeconds/);
    rejects({ ...good, region: 'Europe' }, /region/);
    rejects({ ...good, retry: { initialIntervalSeconds: 5, maximumIntervalSeconds: 1 } }, /must not be less than/);
  });

  it('backs off exponentially up to the maximum', () => {
    const r = { initialIntervalSeconds: 0.5, maximumIntervalSeconds: 3, backoffCoefficient: 2 };
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffMs(r, n)), [500, 1000, 2000, 3000, 3000]);
  });
});

describe('offboarding input', () => {
  it('needs bucket and prefix only to delete data', () => {
    const base = { connectionName: 'c', roleName: 'r', policyName: 'p' };
    assert.equal(resolveOffboardInput(base).deleteData, false);
    assert.throws(() => resolveOffboardInput({ ...base, deleteData: true }), /bucket:[\s\S]*prefix:/);
    assert.equal(resolveOffboardInput({ ...base, deleteData: true, bucket: 'bkt', prefix: 'p/' }).prefix, 'p');
  });
});
