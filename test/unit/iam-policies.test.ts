import { strict as assert } from 'node:assert';
import {
  assessTrustPolicy,
  parsePolicyDocument,
  placeholderTrustPolicy,
  policyDifferences,
  s3AccessPolicy,
  serializePolicy,
  trustPolicy,
  trustsOnlyPrincipal,
  type PolicyDocument,
} from '../../common/iam-policies';

const PRINCIPAL = 'arn:aws:iam::664411391173:role/MaterializeConnection';

describe('IAM documents', () => {
  it('the S3 policy grants exactly the three actions, scoped to the prefix', () => {
    assert.deepEqual(JSON.parse(serializePolicy(s3AccessPolicy('my-bucket', 'exports/team'))), {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'MzS3ExportWriteObjects',
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:DeleteObject'],
          Resource: ['arn:aws:s3:::my-bucket/exports/team/*'],
        },
        {
          Sid: 'MzS3ExportListPrefix',
          Effect: 'Allow',
          Action: ['s3:ListBucket'],
          Resource: ['arn:aws:s3:::my-bucket'],
          Condition: { StringLike: { 's3:prefix': ['exports/team/*'] } },
        },
      ],
    });
  });

  it('the trust policy names exactly the principal and the external ID', () => {
    assert.deepEqual(trustPolicy(PRINCIPAL, 'mz_abc_u1'), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: PRINCIPAL },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': 'mz_abc_u1' } },
        },
      ],
    });
    assert.equal(
      (placeholderTrustPolicy(PRINCIPAL).Statement as any)[0].Condition.StringEquals['sts:ExternalId'],
      'PENDING',
    );
  });

  it('user values with JSON-special characters stay values (no splicing)', () => {
    const doc = trustPolicy(PRINCIPAL, 'x", "Effect": "Deny');
    const parsed = JSON.parse(serializePolicy(doc));
    assert.equal(parsed.Statement[0].Condition.StringEquals['sts:ExternalId'], 'x", "Effect": "Deny');
    assert.equal(parsed.Statement.length, 1);
  });

  it('reads URL-encoded documents as IAM returns them, and plain JSON', () => {
    const doc = trustPolicy(PRINCIPAL, 'mz_abc_u1');
    assert.deepEqual(parsePolicyDocument(encodeURIComponent(JSON.stringify(doc))), doc);
    assert.deepEqual(parsePolicyDocument(JSON.stringify(doc)), doc);
    assert.throws(() => parsePolicyDocument('{"Version":"2012-10-17"}'), /no Statement/);
  });
});

describe('policy comparison', () => {
  it('ignores order, Sids, single-versus-list values and action case', () => {
    const reordered: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 's3:listbucket',
          Resource: 'arn:aws:s3:::b',
          Condition: { StringLike: { 's3:prefix': 'p/*' } },
        },
        { Sid: 'Other', Effect: 'Allow', Action: ['s3:DeleteObject', 's3:PutObject'], Resource: 'arn:aws:s3:::b/p/*' },
      ],
    };
    assert.deepEqual(policyDifferences(reordered, s3AccessPolicy('b', 'p')), []);
  });

  it('says what is missing and what is unexpected', () => {
    const wider: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['s3:*'], Resource: ['arn:aws:s3:::b/*'] }],
    };
    const diffs = policyDifferences(wider, s3AccessPolicy('b', 'p'));
    assert.equal(diffs.length, 3);
    assert.match(diffs[0], /^missing: Allow s3:DeleteObject,s3:PutObject on arn:aws:s3:::b\/p\/\*$/);
    assert.match(diffs[1], /^missing: Allow s3:ListBucket on arn:aws:s3:::b if StringLike s3:prefix=p\/\*$/);
    assert.match(diffs[2], /^unexpected: Allow s3:\* on arn:aws:s3:::b\/\*$/);
  });

  it('a different external ID is a difference', () => {
    const diffs = policyDifferences(trustPolicy(PRINCIPAL, 'old'), trustPolicy(PRINCIPAL, 'new'));
    assert.deepEqual(diffs.map((d) => d.split(':')[0]), ['missing', 'unexpected']);
    assert.match(diffs.join(' '), /sts:ExternalId=new.*sts:ExternalId=old/);
  });
});

describe('trust policy assessment', () => {
  it('a policy with the external-ID condition is not assumable without it', () => {
    const a = assessTrustPolicy(trustPolicy(PRINCIPAL, 'mz_x_u1'));
    assert.deepEqual(a, { assumableWithoutExternalId: false, principals: [PRINCIPAL], externalIds: ['mz_x_u1'] });
    assert.ok(trustsOnlyPrincipal(trustPolicy(PRINCIPAL, 'mz_x_u1'), PRINCIPAL));
  });

  it('dropping the condition, or adding a statement without it, makes it insecure', () => {
    const open: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: PRINCIPAL }, Action: 'sts:AssumeRole' }],
    };
    assert.equal(assessTrustPolicy(open).assumableWithoutExternalId, true);
    const mixed: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [
        ...(trustPolicy(PRINCIPAL, 'mz_x_u1').Statement as any[]),
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:root' }, Action: ['sts:*'] },
      ],
    };
    const a = assessTrustPolicy(mixed);
    assert.equal(a.assumableWithoutExternalId, true);
    assert.deepEqual(a.principals, ['arn:aws:iam::111111111111:root', PRINCIPAL]);
    assert.equal(trustsOnlyPrincipal(mixed, PRINCIPAL), false);
  });

  it('a StringLike wildcard on the external ID does not count as requiring it', () => {
    const like: PolicyDocument = {
      Statement: { Effect: 'Allow', Principal: { AWS: PRINCIPAL }, Action: 'sts:AssumeRole', Condition: { StringLike: { 'sts:ExternalId': '*' } } },
    };
    assert.equal(assessTrustPolicy(like).assumableWithoutExternalId, true);
  });

  it('Deny statements and other actions do not grant assumption', () => {
    const doc: PolicyDocument = {
      Statement: [
        { Effect: 'Deny', Principal: '*', Action: 'sts:AssumeRole' },
        { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:TagSession' },
      ],
    };
    assert.deepEqual(assessTrustPolicy(doc), { assumableWithoutExternalId: false, principals: [], externalIds: [] });
  });
});
