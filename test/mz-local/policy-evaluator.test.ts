import * as assert from 'node:assert/strict';
import { evaluatePolicies, parsePolicyDocument, wildcardMatch, type PolicyDocument } from '../../local/mz-local/aws/policy-evaluator';

const PRINCIPAL = { arn: 'arn:aws:iam::123456789012:role/MaterializeConnection', account: '123456789012' };

function trust(statement: Record<string, unknown>): { name: string; document: PolicyDocument }[] {
  return [{ name: 'trust', document: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', ...statement }] } }];
}

/** A trust policy that allows the principal, plus a Deny statement. */
function trustWithDeny(deny: Record<string, unknown>): { name: string; document: PolicyDocument }[] {
  const allow = { Effect: 'Allow', Principal: { AWS: PRINCIPAL.arn }, Action: 'sts:AssumeRole' };
  return [{ name: 'trust', document: { Statement: [allow, { Effect: 'Deny', Principal: '*', ...deny }] } }];
}

function assume(doc: { name: string; document: PolicyDocument }[], externalId?: string, principal = PRINCIPAL) {
  return evaluatePolicies(doc, { action: 'sts:AssumeRole', principal, keys: { 'sts:ExternalId': externalId } }).decision;
}

const S3_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject'], Resource: 'arn:aws:s3:::bucket/exports/*' },
    { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::bucket', Condition: { StringLike: { 's3:prefix': 'exports/*' } } },
  ],
};

function s3(action: string, resource: string, keys: Record<string, string> = {}, doc: PolicyDocument = S3_POLICY) {
  return evaluatePolicies([{ name: 'p', document: doc }], { action, resource, keys });
}

describe('mz-local policy evaluator', () => {
  describe('wildcards', () => {
    it('matches * and ? and nothing else', () => {
      assert.ok(wildcardMatch('arn:aws:s3:::b/exports/*', 'arn:aws:s3:::b/exports/a/b.csv', false));
      assert.ok(wildcardMatch('s3:*Object', 's3:PutObject', true));
      assert.ok(wildcardMatch('s3:?utObject', 's3:PutObject', true));
      assert.ok(!wildcardMatch('arn:aws:s3:::b/exports/*', 'arn:aws:s3:::b/export/x', false));
      assert.ok(!wildcardMatch('arn:aws:s3:::B/*', 'arn:aws:s3:::b/x', false), 'resources are case-sensitive');
      assert.ok(wildcardMatch('S3:PUTOBJECT', 's3:PutObject', true), 'actions are not');
      assert.ok(wildcardMatch('a*b*c', 'aXXbYYc', false));
      assert.ok(!wildcardMatch('a*b*c', 'aXXbYY', false));
    });
  });

  describe('trust policies (sts:AssumeRole)', () => {
    it('allows the named principal with the right external ID only', () => {
      const doc = trust({ Principal: { AWS: PRINCIPAL.arn }, Condition: { StringEquals: { 'sts:ExternalId': 'mz_env_u1' } } });
      assert.equal(assume(doc, 'mz_env_u1'), 'allow');
      assert.equal(assume(doc, 'mz_env_u2'), 'implicit-deny');
      assert.equal(assume(doc, undefined), 'implicit-deny', 'a missing external ID does not satisfy StringEquals');
    });

    it('does not trust other principals', () => {
      const doc = trust({ Principal: { AWS: 'arn:aws:iam::123456789012:role/Other' } });
      assert.equal(assume(doc, 'x'), 'implicit-deny');
      assert.equal(assume(trust({ Principal: { Service: 'ec2.amazonaws.com' } }), 'x'), 'implicit-deny');
    });

    it('treats account root, account id and * as trusting the principal', () => {
      assert.equal(assume(trust({ Principal: { AWS: 'arn:aws:iam::123456789012:root' } })), 'allow');
      assert.equal(assume(trust({ Principal: { AWS: '123456789012' } })), 'allow');
      assert.equal(assume(trust({ Principal: '*' })), 'allow');
      assert.equal(assume(trust({ Principal: { AWS: ['arn:aws:iam::999999999999:root', PRINCIPAL.arn] } })), 'allow');
      assert.equal(assume(trust({ Principal: { AWS: 'arn:aws:iam::999999999999:root' } })), 'implicit-deny');
    });

    it('supports StringLike, IfExists and negated operators', () => {
      const like = trust({ Principal: { AWS: PRINCIPAL.arn }, Condition: { StringLike: { 'sts:ExternalId': 'mz_*_u1' } } });
      assert.equal(assume(like, 'mz_env_u1'), 'allow');
      assert.equal(assume(like, 'mz_env_u2'), 'implicit-deny');
      const ifExists = trust({ Principal: { AWS: PRINCIPAL.arn }, Condition: { StringEqualsIfExists: { 'sts:ExternalId': 'abc' } } });
      assert.equal(assume(ifExists, undefined), 'allow', 'IfExists holds when the key is absent');
      assert.equal(assume(ifExists, 'nope'), 'implicit-deny');
      const notEq = trust({ Principal: { AWS: PRINCIPAL.arn }, Condition: { StringNotEquals: { 'sts:ExternalId': 'bad' } } });
      assert.equal(assume(notEq, 'good'), 'allow');
      assert.equal(assume(notEq, 'bad'), 'implicit-deny');
      const nullCheck = trust({ Principal: { AWS: PRINCIPAL.arn }, Condition: { Null: { 'sts:ExternalId': 'false' } } });
      assert.equal(assume(nullCheck, 'x'), 'allow');
      assert.equal(assume(nullCheck, undefined), 'implicit-deny');
    });

    it('condition keys are case-insensitive, values are not (StringEquals)', () => {
      const doc = trust({ Principal: { AWS: PRINCIPAL.arn }, Condition: { StringEquals: { 'STS:EXTERNALID': 'Abc' } } });
      assert.equal(assume(doc, 'Abc'), 'allow');
      assert.equal(assume(doc, 'abc'), 'implicit-deny');
      const ci = trust({ Principal: { AWS: PRINCIPAL.arn }, Condition: { StringEqualsIgnoreCase: { 'sts:ExternalId': 'Abc' } } });
      assert.equal(assume(ci, 'aBC'), 'allow');
    });

    it('an explicit Deny wins over an Allow', () => {
      const doc = trustWithDeny({ Action: 'sts:*', Condition: { StringNotEquals: { 'sts:ExternalId': 'ok' } } });
      assert.equal(assume(doc, 'ok'), 'allow');
      assert.equal(assume(doc, 'other'), 'explicit-deny');
      assert.equal(assume(doc, undefined), 'explicit-deny');
    });

    it('denies what it cannot evaluate, and says so', () => {
      const numeric = trust({ Principal: { AWS: PRINCIPAL.arn }, Condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } } });
      const res = evaluatePolicies(numeric, { action: 'sts:AssumeRole', principal: PRINCIPAL, keys: {} });
      assert.equal(res.decision, 'implicit-deny');
      assert.match(res.notes.join('\n'), /NumericLessThan is not supported; treating this Allow as not matching/);
      const denyUnknown = trustWithDeny({ Action: 'sts:AssumeRole', Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } } });
      const r2 = evaluatePolicies(denyUnknown, { action: 'sts:AssumeRole', principal: PRINCIPAL, keys: {} });
      assert.equal(r2.decision, 'explicit-deny');
      assert.match(r2.notes.join('\n'), /treating this Deny as matching/);
      const noPrincipal = trust({});
      assert.equal(assume(noPrincipal, 'x'), 'implicit-deny');
    });
  });

  describe('identity policies (S3 actions)', () => {
    it('allows the actions on the prefix and nothing more', () => {
      assert.equal(s3('s3:PutObject', 'arn:aws:s3:::bucket/exports/a/mz-t1-batch-0000-0001.csv').decision, 'allow');
      assert.equal(s3('s3:DeleteObject', 'arn:aws:s3:::bucket/exports/x').decision, 'allow');
      assert.equal(s3('s3:PutObject', 'arn:aws:s3:::bucket/other/x').decision, 'implicit-deny');
      assert.equal(s3('s3:PutObject', 'arn:aws:s3:::bucket2/exports/x').decision, 'implicit-deny');
      assert.equal(s3('s3:GetObject', 'arn:aws:s3:::bucket/exports/x').decision, 'implicit-deny');
    });

    it('applies s3:prefix conditions on ListBucket', () => {
      assert.equal(s3('s3:ListBucket', 'arn:aws:s3:::bucket', { 's3:prefix': 'exports/run1' }).decision, 'allow');
      assert.equal(s3('s3:ListBucket', 'arn:aws:s3:::bucket', { 's3:prefix': 'other/run1' }).decision, 'implicit-deny');
      assert.equal(s3('s3:ListBucket', 'arn:aws:s3:::bucket', {}).decision, 'implicit-deny', 'no prefix, no match');
      assert.equal(s3('s3:ListBucket', 'arn:aws:s3:::bucket/exports').decision, 'implicit-deny', 'ListBucket is on the bucket ARN');
    });

    it('honours NotAction, NotResource and wildcard actions', () => {
      const doc: PolicyDocument = {
        Statement: [
          { Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::bucket/*' },
          { Effect: 'Deny', NotAction: 's3:PutObject', Resource: 'arn:aws:s3:::bucket/locked/*' },
          { Effect: 'Deny', Action: 's3:PutObject', NotResource: 'arn:aws:s3:::bucket/*' },
        ],
      };
      assert.equal(s3('s3:DeleteObject', 'arn:aws:s3:::bucket/a', {}, doc).decision, 'allow');
      assert.equal(s3('s3:DeleteObject', 'arn:aws:s3:::bucket/locked/a', {}, doc).decision, 'explicit-deny');
      assert.equal(s3('s3:PutObject', 'arn:aws:s3:::bucket/locked/a', {}, doc).decision, 'allow');
      assert.equal(s3('s3:PutObject', 'arn:aws:s3:::other/a', {}, doc).decision, 'explicit-deny');
    });

    it('combines several policies, an explicit deny anywhere wins', () => {
      const deny: PolicyDocument = { Statement: { Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' } as never };
      const res = evaluatePolicies(
        [
          { name: 'allow', document: S3_POLICY },
          { name: 'deny', document: deny },
        ],
        { action: 's3:DeleteObject', resource: 'arn:aws:s3:::bucket/exports/x' },
      );
      assert.equal(res.decision, 'explicit-deny');
      assert.deepEqual(res.matched, ['deny#0']);
    });

    it('refuses policy variables rather than guessing', () => {
      const doc: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::bucket/${aws:username}/*' }] };
      const res = s3('s3:PutObject', 'arn:aws:s3:::bucket/me/x', {}, doc);
      assert.equal(res.decision, 'implicit-deny');
      assert.match(res.notes[0], /policy variables/);
    });
  });

  it('parses URL-encoded documents as IAM returns them', () => {
    const doc = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: '*' }] };
    assert.deepEqual(parsePolicyDocument(encodeURIComponent(JSON.stringify(doc))), doc);
    assert.deepEqual(parsePolicyDocument(JSON.stringify(doc)), doc);
  });
});
