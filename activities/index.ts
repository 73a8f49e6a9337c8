/**
 * All activities, created from injected clients. Each area adds its factory here. Their contract (names, inputs,
 * results) is common/activities.ts, which workflows type their proxies with.
 */
import type { Activities } from '../common/activities';
import type { ActivityDeps } from './deps';
import { createHealthActivities } from './health';
import { createAwsIamActivities } from './onboarding/aws-iam';
import { createS3BucketActivities } from './onboarding/s3-bucket';
import { createMaterializeConnectionActivities } from './onboarding/materialize-connection';
import { createMaterializeCopyActivities } from './export/materialize-copy';
import { createPreflightActivities } from './onboarding/preflight';
import { createS3CompatibleActivities } from './onboarding/s3-compatible';
import { createS3ExportActivities } from './export/s3-export';
import { createSnapshotSetActivities } from './export/snapshot-set';
import { createSchedulePauseActivities } from './schedule-pause';
import { createRetentionActivities } from './retention/expiry';
import { createEventActivities } from './events/notify';

export type { ActivityDeps } from './deps';
export type { Activities } from '../common/activities';

export function createActivities(deps: ActivityDeps): Activities {
  return {
    ...createHealthActivities(deps),
    ...createAwsIamActivities(deps),
    ...createS3BucketActivities(deps),
    ...createMaterializeConnectionActivities(deps),
    ...createPreflightActivities(deps),
    ...createS3CompatibleActivities(deps),
    ...createMaterializeCopyActivities(deps),
    ...createS3ExportActivities(deps),
    ...createSnapshotSetActivities(deps),
    ...createSchedulePauseActivities(),
    ...createRetentionActivities(deps),
    ...createEventActivities(deps),
  };
}
