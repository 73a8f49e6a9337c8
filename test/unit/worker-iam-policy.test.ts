import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { workerOnboardingPolicy } from '../../common/onboarding/worker-iam-policy';

describe("the worker's IAM policy for onboarding", () => {
  it('docs/security.md shows exactly what workerOnboardingPolicy() generates', () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'security.md'), 'utf8');
    const section = doc.slice(doc.indexOf("## The worker's own AWS permissions for onboarding"));
    const shown = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
    assert.ok(shown, 'a JSON block in the section');
    assert.deepEqual(JSON.parse(shown), workerOnboardingPolicy({ roles: 'mz-s3-export-*', policies: 'mz-s3-export-*', buckets: 'acme-exports' }));
  });

  it('every action the onboarding activities call is in it (each AWS command they import)', () => {
    const files = ['aws-iam.ts', 'iam-ownership.ts', 'preflight.ts', 's3-bucket.ts'].map((f) =>
      fs.readFileSync(path.join(__dirname, '..', '..', 'activities', 'onboarding', f), 'utf8'),
    );
    const granted = JSON.stringify(workerOnboardingPolicy());
    // The IAM action of a command is its name without 'Command' (HeadBucket and the public access block calls
    // are authorized as s3:ListBucket and s3:*BucketPublicAccessBlock).
    const aliases: Record<string, string> = {
      HeadBucket: 's3:ListBucket',
      ListObjectsV2: 's3:ListBucket',
      DeleteObjects: 's3:DeleteObject',
      GetPublicAccessBlock: 's3:GetBucketPublicAccessBlock',
      PutPublicAccessBlock: 's3:PutBucketPublicAccessBlock',
    };
    const commands = new Set(files.flatMap((f) => [...f.matchAll(/\b([A-Z][A-Za-z0-9]+)Command\b/g)].map((m) => m[1])));
    const missing = [...commands].filter((c) => !(aliases[c] ? granted.includes(`"${aliases[c]}"`) : new RegExp(`"(iam|s3|sts):${c}"`).test(granted)));
    assert.deepEqual(missing, []);
  });
});
