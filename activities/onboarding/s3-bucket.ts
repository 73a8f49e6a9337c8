/**
 * The bucket side of onboarding and offboarding: ensure the bucket (create it with the guide's defaults, or adopt
 * an existing one), and delete objects under a key prefix (probe cleanup, offboarding's optional data removal).
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
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
import { aws, awsErrorName, httpStatus, isAccessDenied, isNotFound } from '../aws-errors';
import type { ActivityDeps } from '../deps';
import { heartbeating } from '../heartbeat';

export interface EnsureBucketInput {
  bucket: string;
  region?: string;
  createBucket: boolean;
}

export interface EnsureBucketResult {
  bucket: string;
  region: string;
  created: boolean;
  managed: boolean;
  /** Whether all four public access block settings are on (false on an adopted bucket is worth a look). */
  publicAccessBlocked: boolean;
  change?: string;
}

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
  await aws(`put the public access block of bucket ${bucket}`, () =>
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
  await aws(`set the object ownership of bucket ${bucket}`, () =>
    s3.send(
      new PutBucketOwnershipControlsCommand({
        Bucket: bucket,
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      }),
    ),
  );
}

export function createS3BucketActivities({ aws: clients }: ActivityDeps) {
  const s3 = clients.s3;
  const workerRegion = async () => (await s3.config.region()) as string;

  async function headBucket(bucket: string): Promise<'exists' | 'missing'> {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: bucket }));
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
          `bucket ${bucket} exists but the worker's credentials cannot access it (it may belong to another AWS account); choose another bucket name`,
        );
      throw e;
    }
  }

  async function adopt(input: EnsureBucketInput): Promise<EnsureBucketResult> {
    const location = await aws(`read the location of bucket ${input.bucket}`, () =>
      s3.send(new GetBucketLocationCommand({ Bucket: input.bucket })),
    );
    const region = regionOfLocation(location.LocationConstraint);
    if (input.region && input.region !== region) {
      throw new ConflictError(
        `bucket ${input.bucket} exists in region ${region}, not ${input.region} where the worker runs; use a worker with AWS_REGION=${region}, or choose another bucket`,
      );
    }
    const managed = (await bucketTags(s3, input.bucket)).some(
      (t) => t.Key === MANAGED_BY_TAG.Key && t.Value === MANAGED_BY_TAG.Value,
    );
    // A bucket this project created gets its defaults again (a crash may have come between create and them);
    // another bucket is the user's: adopted as it is.
    if (managed) await applyDefaults(s3, input.bucket);
    return {
      bucket: input.bucket,
      region,
      created: false,
      managed,
      publicAccessBlocked: await publicAccessBlocked(s3, input.bucket),
    };
  }

  return heartbeating({
    async ensureBucket(input: EnsureBucketInput): Promise<EnsureBucketResult> {
      // The worker's S3 client is bound to its region; a bucket elsewhere would answer every later call with a redirect.
      const region = await workerRegion();
      if (input.region && input.region !== region) {
        throw new UserFixableError(
          `region is ${input.region} but the worker runs with AWS_REGION=${region}; run a worker in ${input.region} (and point the task queue at it), or set region to ${region}`,
        );
      }
      if ((await headBucket(input.bucket)) === 'exists') {
        const adopted = await adopt({ ...input, region });
        return { ...adopted, change: adopted.managed ? undefined : `bucket ${input.bucket}: adopted as it is` };
      }
      if (!input.createBucket) {
        throw new UserFixableError(
          `bucket ${input.bucket} does not exist and createBucket is false; create it, or set createBucket to true`,
        );
      }
      try {
        await aws(`create bucket ${input.bucket}`, () =>
          s3.send(
            new CreateBucketCommand({
              Bucket: input.bucket,
              ObjectOwnership: 'BucketOwnerEnforced',
              ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
            }),
          ),
        );
      } catch (e) {
        if (awsErrorName(e) === 'BucketAlreadyOwnedByYou') return adopt({ ...input, region });
        if (awsErrorName(e) === 'BucketAlreadyExists')
          throw new ConflictError(`bucket name ${input.bucket} is taken by another AWS account; choose another bucket name`);
        throw e;
      }
      // Tag first: it is what lets a retry after a crash recognise the bucket as ours.
      await aws(`tag bucket ${input.bucket}`, () =>
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
     * Offboarding's optional data removal: every object under <prefix>/, then the bucket itself when nothing
     * is left in it and this project created it.
     */
    async deleteOnboardedData(input: { bucket: string; prefix: string }): Promise<{ objectsDeleted: number; bucketDeleted: boolean }> {
      if ((await headBucket(input.bucket)) === 'missing') return { objectsDeleted: 0, bucketDeleted: false };
      const objectsDeleted = await deleteObjectsUnder(s3, input.bucket, `${input.prefix}/`);
      const managed = (await bucketTags(s3, input.bucket)).some((t) => t.Key === MANAGED_BY_TAG.Key && t.Value === MANAGED_BY_TAG.Value);
      const rest = await aws(`list bucket ${input.bucket}`, () => s3.send(new ListObjectsV2Command({ Bucket: input.bucket, MaxKeys: 1 })));
      if (!managed || rest.KeyCount) return { objectsDeleted, bucketDeleted: false };
      await aws(`delete bucket ${input.bucket}`, () => s3.send(new DeleteBucketCommand({ Bucket: input.bucket })));
      return { objectsDeleted, bucketDeleted: true };
    },
  });
}

/** Deletes every object whose key starts with keyPrefix; returns how many. */
export async function deleteObjectsUnder(s3: S3Client, bucket: string, keyPrefix: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    // Always the first page: what was listed is deleted, so the next listing starts after it.
    const page = await aws(`list bucket ${bucket}`, () =>
      s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix, MaxKeys: 1000 })),
    );
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) return deleted;
    const res = await aws(`delete objects in bucket ${bucket}`, () =>
      s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } })),
    );
    if (res.Errors?.length) {
      const first = res.Errors[0];
      throw new Error(`could not delete ${res.Errors.length} objects under ${keyPrefix}, e.g. ${first.Key}: ${first.Code} ${first.Message}`);
    }
    deleted += keys.length;
  }
}
