/** AWS SDK clients built one way everywhere: default credential chain, region, and an emulator endpoint with path-style S3. */
import { S3Client } from '@aws-sdk/client-s3';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { loadConfig as loadSdkConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import type { AwsConfig } from './config';
import { InvalidInputError } from '../common/failures';
import { log } from './log';

// The SDK warns on every process start that its 2027 releases will need Node 22; Node 20 is supported by
// the pinned version, so the warning only hides real output. An explicit setting of the variable wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface AwsClients {
  s3: S3Client;
  iam: IAMClient;
  sts: STSClient;
  /** Publication events (docs/events.md). */
  sns: SNSClient;
  sqs: SQSClient;
  eventBridge: EventBridgeClient;
}

/**
 * The region the way the AWS CLI finds it: AWS_REGION (or AWS_DEFAULT_REGION), else the `region` of the
 * AWS_PROFILE section in the config file, read by the SDK's own loader. Resolved when a client first needs it.
 */
export function regionProvider(aws: AwsConfig): string | (() => Promise<string>) {
  if (aws.region) return aws.region;
  // The SDK's region selectors, except that an empty AWS_REGION (compose's `${AWS_REGION:-}`) counts as unset.
  const fromProfile = loadSdkConfig({ ...NODE_REGION_CONFIG_OPTIONS, environmentVariableSelector: (e) => e.AWS_REGION || e.AWS_DEFAULT_REGION || undefined }, {
    ...NODE_REGION_CONFIG_FILE_OPTIONS,
    profile: aws.profile,
    configFilepath: aws.configFile,
  });
  return async () => {
    const region = await fromProfile().catch(() => undefined);
    if (!region) {
      throw new InvalidInputError(
        `no AWS region: set AWS_REGION, or a region for profile "${aws.profile ?? 'default'}" in ${aws.configFile ?? '~/.aws/config'}`,
      );
    }
    return region;
  };
}

/**
 * The SDK's warnings (e.g. "Stream of unknown length" on a PutObject) as JSON log lines instead of console.warn.
 * Its per-request lines are dropped: info for every call, error for every failed one, which the caller already
 * handles (a missing role is an expected answer, not an error to log).
 */
const sdkLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (...args: unknown[]) => log('warn', 'AWS SDK warning', { detail: args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ') }),
  error: () => undefined,
};

export function createAwsClients(aws: AwsConfig): AwsClients {
  const common = {
    region: regionProvider(aws),
    logger: sdkLogger,
    ...(aws.profile ? { profile: aws.profile } : {}),
    ...(aws.endpoint ? { endpoint: aws.endpoint } : {}),
  };
  return {
    s3: new S3Client({ ...common, forcePathStyle: Boolean(aws.endpoint) }),
    iam: new IAMClient(common),
    sts: new STSClient(common),
    sns: new SNSClient(common),
    sqs: new SQSClient(common),
    eventBridge: new EventBridgeClient(common),
  };
}

export function destroyAwsClients(clients: AwsClients): void {
  clients.s3.destroy();
  clients.iam.destroy();
  clients.sts.destroy();
  clients.sns.destroy();
  clients.sqs.destroy();
  clients.eventBridge.destroy();
}
