/**
 * The bucket side of onboarding and offboarding: ensure the bucket (create it with the guide's defaults, or adopt
 * an existing one), and delete objects under a key prefix (probe cleanup, offboarding's optional data removal).
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketLocationCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutBucketOwnershipControlsCommand,
  PutBucketTaggingCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ConflictError, UserFixableError } from '../../common/failures';
import { MANAGED_BY_TAG } from '../../common/iam-policies';
import { explainAccessDenied, awsErrorName, httpStatus, isAccessDenied, isNotFound } from '../aws-errors';
import { s3Of, type ActivityDeps } from '../deps';
import { heartbeating } from '../heartbeat';
import { deleteObjectsUnder } from '../s3-folders';
import type { EnsureBucketInput, EnsureBucketResult, S3BucketActivities } from '../../common/onboarding/activities';
import { awsIdentity } from './iam-ownership';

/** GetBucketLocation's answer as a region: empty means us-east-1, 'EU' is the legacy name of eu-west-1. */
export function regionOfLocation(constraint: string | undefined | null): string {
  if (!constraint) return 'us-east-1';
  return constraint === 'EU' ? 'eu-west-1' : constraint;
}

async function bucketTags(s3: S3Client, bucket: string): Promise<{ Key?: string; Value?: string }[]> {
  try {
    return (await s3.send(new GetBucketTaggingCommand({ Bucket: bucket }))).TagSet ?? [];
  } catch (e) {
    if (awsErrorName(e) === 'NoSuchTagSet' || isNotFound(e)) return [];
    throw e;
  }
}

async function publicAccessBlocked(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    const c = (await s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).PublicAccessBlockConfiguration;
    return Boolean(c?.BlockPublicAcls && c.IgnorePublicAcls && c.BlockPublicPolicy && c.RestrictPublicBuckets);
  } catch (e) {
    if (awsErrorName(e) === 'NoSuchPublicAccessBlockConfiguration' || isNotFound(e)) return false;
    throw e;
  }
}

/** The guide's defaults: every public access block on, ACLs off (bucket owner enforced). Idempotent. */
async function applyDefaults(s3: S3Client, bucket: string): Promise<void> {
  await explainAccessDenied(`put the public access block of bucket ${bucket}`, () =>
    s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: bucket,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          IgnorePublicAcls: true,
          BlockPublicPolicy: true,
          RestrictPublicBuckets: true,
        },
      }),
    ),
  );
  await explainAccessDenied(`set the object ownership of bucket ${bucket}`, () =>
    s3.send(
      new PutBucketOwnershipControlsCommand({
        Bucket: bucket,
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      }),
    ),
  );
}

/** Whether the bucket exists; a bucket in another region or another account is a conflict. Read-only. */
export async function headBucket(s3: S3Client, bucket: string, expectedOwner?: string): Promise<'exists' | 'missing'> {
  try {
    // With the owner expected, S3 answers 403 for a bucket of another account even where that account lets us in.
    await s3.send(new HeadBucketCommand({ Bucket: bucket, ...(expectedOwner ? { ExpectedBucketOwner: expectedOwner } : {}) }));
    return 'exists';
  } catch (e) {
    if (isNotFound(e)) return 'missing';
    if (httpStatus(e) === 301) {
      throw new ConflictError(
        `bucket ${bucket} is in another region than the worker's AWS_REGION; run the worker with AWS_REGION set to the bucket's region, or choose another bucket`,
      );
    }
    if (isAccessDenied(e))
      throw new ConflictError(
        `bucket ${bucket} exists but belongs to another AWS account, or the worker's credentials cannot access it; choose another bucket name`,
      );
    throw e;
  }
}

/**
 * The bucket checks that can fail, before anything is written: the worker's region, the bucket's region, a
 * missing bucket that may not be created. Read-only; returns the region the bucket is or will be in.
 */
export async function checkBucket(s3: S3Client, input: EnsureBucketInput, accountId: string): Promise<{ region: string; exists: boolean }> {
  // The worker's S3 client is bound to its region; a bucket elsewhere would answer every later call with a redirect.
  const region = (await s3.config.region()) as string;
  if (input.region && input.region !== region) {
    throw new UserFixableError(
      `region is ${input.region} but the worker runs with AWS_REGION=${region}; run a worker in ${input.region} (and point the task queue at it), or set region to ${region}`,
    );
  }
  if ((await headBucket(s3, input.bucket, accountId)) === 'missing') {
    if (!input.createBucket) {
      throw new UserFixableError(`bucket ${input.bucket} does not exist and createBucket is false; create it, or set createBucket to true`);
    }
    return { region, exists: false };
  }
  const location = await explainAccessDenied(`read the location of bucket ${input.bucket}`, () => s3.send(new GetBucketLocationCommand({ Bucket: input.bucket })));
  const actual = regionOfLocation(location.LocationConstraint);
  if (actual !== region) {
    throw new ConflictError(
      `bucket ${input.bucket} exists in region ${actual}, not ${region} where the worker runs; use a worker with AWS_REGION=${actual}, or choose another bucket`,
    );
  }
  return { region, exists: true };
}

export function createS3BucketActivities(deps: ActivityDeps): S3BucketActivities {
  const clients = deps.aws;
  const s3 = clients.s3;

  /** An existing bucket, whose region checkBucket has confirmed: one this project created gets its defaults again. */
  async function adopt(bucket: string, region: string): Promise<EnsureBucketResult> {
    const managed = (await bucketTags(s3, bucket)).some((t) => t.Key === MANAGED_BY_TAG.Key && t.Value === MANAGED_BY_TAG.Value);
    // A crash may have come between create and the defaults; another bucket is the user's: adopted as it is.
    if (managed) await applyDefaults(s3, bucket);
    return {
      bucket,
      region,
      created: false,
      managed,
      publicAccessBlocked: await publicAccessBlocked(s3, bucket),
      change: managed ? undefined : `bucket ${bucket}: adopted as it is`,
    };
  }

  return heartbeating({
    async ensureBucket(input: EnsureBucketInput): Promise<EnsureBucketResult> {
      const { region, exists } = await checkBucket(s3, input, (await awsIdentity(clients.sts)).accountId);
      if (exists) return adopt(input.bucket, region);
      try {
        await explainAccessDenied(`create bucket ${input.bucket}`, () =>
          s3.send(
            new CreateBucketCommand({
              Bucket: input.bucket,
              ObjectOwnership: 'BucketOwnerEnforced',
              ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
            }),
          ),
        );
      } catch (e) {
        if (awsErrorName(e) === 'BucketAlreadyOwnedByYou') return adopt(input.bucket, region);
        if (awsErrorName(e) === 'BucketAlreadyExists')
          throw new ConflictError(`bucket name ${input.bucket} is taken by another AWS account; choose another bucket name`);
        throw e;
      }
      // Tag first: it is what lets a retry after a crash recognise the bucket as ours.
      await explainAccessDenied(`tag bucket ${input.bucket}`, () =>
        s3.send(new PutBucketTaggingCommand({ Bucket: input.bucket, Tagging: { TagSet: [{ ...MANAGED_BY_TAG }] } })),
      );
      await applyDefaults(s3, input.bucket);
      return {
        bucket: input.bucket,
        region,
        created: true,
        managed: true,
        publicAccessBlocked: true,
        change: `bucket ${input.bucket}: created in ${region} with public access blocked and bucket-owner-enforced ownership`,
      };
    },

    /**
     * Offboarding's optional data removal: every object under <prefix>/, with retention's deletion code (commit
     * markers first, claims last: activities/s3-folders.ts), then the bucket itself when nothing is left in it
     * and this project created it.
     */
    async deleteOnboardedData(input: { bucket: string; prefix: string; storageProfile?: string }): Promise<{ objectsDeleted: number; bucketDeleted: boolean }> {
      if (input.storageProfile !== undefined) {
        // An S3-compatible store's bucket was never ours (onboarding does not create one there): objects only.
        return { objectsDeleted: await deleteObjectsUnder(s3Of(deps, input.storageProfile), input.bucket, `${input.prefix}/`), bucketDeleted: false };
      }
      if ((await headBucket(s3, input.bucket)) === 'missing') return { objectsDeleted: 0, bucketDeleted: false };
      const objectsDeleted = await deleteObjectsUnder(s3, input.bucket, `${input.prefix}/`);
      const managed = (await bucketTags(s3, input.bucket)).some((t) => t.Key === MANAGED_BY_TAG.Key && t.Value === MANAGED_BY_TAG.Value);
      const rest = await explainAccessDenied(`list bucket ${input.bucket}`, () => s3.send(new ListObjectsV2Command({ Bucket: input.bucket, MaxKeys: 1 })));
      if (!managed || rest.KeyCount) return { objectsDeleted, bucketDeleted: false };
      await explainAccessDenied(`delete bucket ${input.bucket}`, () => s3.send(new DeleteBucketCommand({ Bucket: input.bucket })));
      return { objectsDeleted, bucketDeleted: true };
    },
  });
}
