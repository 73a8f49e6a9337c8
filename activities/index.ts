/**
 * All activities, created from injected clients. Each area adds its factory here; workflows import only the
 * type (`import type { Activities }`), never this module's code.
 */
import type { ActivityDeps } from './deps';
import { createHealthActivities } from './health';
import { createAwsIamActivities } from './onboarding/aws-iam';
import { createS3BucketActivities } from './onboarding/s3-bucket';
import { createMaterializeConnectionActivities } from './onboarding/materialize-connection';
import { createMaterializeCopyActivities } from './export/materialize-copy';
import { createS3ExportActivities } from './export/s3-export';

export type { ActivityDeps } from './deps';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createHealthActivities(deps),
    ...createAwsIamActivities(deps),
    ...createS3BucketActivities(deps),
    ...createMaterializeConnectionActivities(deps),
    ...createMaterializeCopyActivities(deps),
    ...createS3ExportActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
