/** AWS SDK clients built one way everywhere: default credential chain, region, and an emulator endpoint with path-style S3. */
import { S3Client } from '@aws-sdk/client-s3';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsConfig } from './config';

// The SDK warns on every process start that its 2027 releases will need Node 22; Node 20 is supported by
// the pinned version, so the warning only hides real output. An explicit setting of the variable wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface AwsClients {
  s3: S3Client;
  iam: IAMClient;
  sts: STSClient;
}

export function createAwsClients(aws: AwsConfig): AwsClients {
  const common = { region: aws.region, ...(aws.endpoint ? { endpoint: aws.endpoint } : {}) };
  return {
    s3: new S3Client({ ...common, forcePathStyle: Boolean(aws.endpoint) }),
    iam: new IAMClient(common),
    sts: new STSClient(common),
  };
}

export function destroyAwsClients(clients: AwsClients): void {
  clients.s3.destroy();
  clients.iam.destroy();
  clients.sts.destroy();
}
