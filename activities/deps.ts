/** What every activity factory is given: its clients, injected so tests and the worker compose them freely. */
import type { S3Client } from '@aws-sdk/client-s3';
import type { AwsClients } from '../platform/aws-clients';
import type { MaterializeConnector } from '../platform/materialize';
import { StorageClients } from '../platform/storage-profiles';

export interface ActivityDeps {
  aws: AwsClients;
  materialize: MaterializeConnector;
  /** S3-compatible stores by storage profile; absent: no profiles (every target is AWS S3). */
  storage?: StorageClients;
}

/**
 * The S3 client for a target: the worker's AWS identity when the input names no storage profile, else that
 * profile's endpoint, addressing style and access key.
 */
export function s3Of(deps: ActivityDeps, storageProfile: string | undefined): S3Client {
  if (storageProfile === undefined) return deps.aws.s3;
  return (deps.storage ?? new StorageClients({})).s3(storageProfile);
}
