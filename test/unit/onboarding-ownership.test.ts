import { strict as assert } from 'node:assert';
import { trustPolicy } from '../../common/iam-policies';
import {
  connectionBinding,
  deletionProblem,
  ownershipTags,
  policyAdoptionProblem,
  principalProblem,
  roleAdoptionProblem,
  type RoleFacts,
} from '../../common/onboarding/ownership';

const PRINCIPAL = 'arn:aws:iam::664411391173:role/MaterializeConnection';
const ARN = 'arn:aws:iam::123456789012:role/r';
const binding = connectionBinding('aws-us-east-1-env-0', 'conn_a');
const want = { binding, connectionName: 'conn_a', roleName: 'r', principal: PRINCIPAL, externalId: 'mz_env_u1', expectedArn: ARN };
const role = (over: Partial<RoleFacts>): RoleFacts => ({ roleName: 'r', arn: ARN, tags: [], trustPolicy: trustPolicy(PRINCIPAL, 'PENDING'), otherConnections: [], ...over });

describe('ownership of roles and policies', () => {
  it("adopts a role tagged for this connection, or an untagged one with the guide's trust policy for it", () => {
    assert.equal(roleAdoptionProblem(role({ tags: ownershipTags(binding), trustPolicy: trustPolicy(PRINCIPAL, 'mz_env_u0') }), want), undefined);
    assert.equal(roleAdoptionProblem(role({}), want), undefined);
    assert.equal(roleAdoptionProblem(role({ trustPolicy: trustPolicy(PRINCIPAL, 'mz_env_u1') }), want), undefined);
  });

  it('refuses a role that serves another connection, saying which and what to change', () => {
    const other = connectionBinding('aws-us-east-1-env-0', 'conn_b');
    assert.match(roleAdoptionProblem(role({ tags: ownershipTags(other) }), want)!, /serves connection aws-us-east-1-env-0\/conn_b .*choose another roleName/);
    assert.match(roleAdoptionProblem(role({ tags: ownershipTags(binding), otherConnections: ['conn_b'] }), want)!, /is assumed by connection conn_b/);
    assert.match(roleAdoptionProblem(role({ trustPolicy: trustPolicy(PRINCIPAL, 'mz_other_u9') }), want)!, /requires external ID mz_other_u9/);
    assert.match(roleAdoptionProblem(role({ trustPolicy: trustPolicy('arn:aws:iam::999999999999:root', 'PENDING') }), want)!, /trusts arn:aws:iam::999999999999:root/);
    const open = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: PRINCIPAL }, Action: 'sts:AssumeRole' }] };
    assert.match(roleAdoptionProblem(role({ trustPolicy: open }), want)!, /can be assumed without an external ID/);
    assert.match(roleAdoptionProblem(role({ arn: 'arn:aws:iam::123456789012:role/team/r' }), want)!, /an IAM path/);
  });

  it('refuses a policy tagged for another connection or attached to anything but this role', () => {
    const policy = { policyName: 'p', arn: 'arn:aws:iam::123456789012:policy/p', tags: [], attachedTo: ['role r'] };
    assert.equal(policyAdoptionProblem(policy, want), undefined);
    assert.match(policyAdoptionProblem({ ...policy, attachedTo: ['role r', 'user alice'] }, want)!, /attached to user alice, which mz-s3-export did not attach/);
    assert.match(policyAdoptionProblem({ ...policy, tags: ownershipTags('env/conn_b') }, want)!, /serves connection env\/conn_b/);
  });

  it('offboarding deletes only what is tagged for exactly this connection', () => {
    assert.equal(deletionProblem('role', 'r', ownershipTags(binding), want), undefined);
    assert.match(deletionProblem('role', 'r', [{ Key: 'managed-by', Value: 'mz-s3-export' }], want)!, /not tagged mz-s3-export:connection=/);
    assert.match(deletionProblem('policy', 'p', ownershipTags('env/conn_b'), want)!, /serves connection env\/conn_b, not/);
  });
});

describe("Materialize's principal", () => {
  it("is trusted only as an IAM role ARN of the worker's partition", () => {
    assert.equal(principalProblem(PRINCIPAL, 'aws'), undefined);
    assert.equal(principalProblem('arn:aws:iam::664411391173:role/team/MaterializeConnection', 'aws'), undefined);
    for (const p of ['arn:aws:iam::999999999999:root', 'arn:aws:iam::999999999999:user/u', '*', 'arn:aws:sts::999999999999:assumed-role/r/s', '999999999999']) {
      assert.match(principalProblem(p, 'aws')!, /is not an IAM role ARN/, p);
    }
    assert.match(principalProblem('arn:aws-cn:iam::123456789012:role/MaterializeConnection', 'aws')!, /partition aws-cn, but the worker's account is in aws/);
  });
});
