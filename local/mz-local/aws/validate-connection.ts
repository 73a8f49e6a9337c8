/**
 * VALIDATE CONNECTION for AWS assume-role connections, as Materialize does it
 * (src/storage-types/src/connections/aws.rs, AwsConnection::validate):
 *   1. assume the role with the connection's external ID and call STS GetCallerIdentity; an AWS error is
 *      reported with AWS's own message (retryable: IAM may still be propagating);
 *   2. assume the role without an external ID; if that works the role's trust policy is insecure and
 *      validation fails with "role trust policy does not require an external ID" (a configuration error).
 */
import type { AwsConnectionRecord } from '../catalog/catalog';
import { MzError, SqlState } from '../errors';
import { AwsError, describeAwsError, type AwsAccess } from './aws-access';

export const TRUST_POLICY_HINT = 'See: https://materialize.com/s/aws-connection-role-trust-policy';

/** The role session name Materialize uses when the connection does not set one. */
export function defaultSessionName(environmentId: string, connectionId: string): string {
  return `${environmentId}-${connectionId}`;
}

export async function validateAwsConnection(access: AwsAccess, conn: AwsConnectionRecord, environmentId: string): Promise<void> {
  if (!conn.assumeRoleArn) {
    throw new MzError(SqlState.FeatureNotSupported, 'mz-local validates only AWS connections with ASSUME ROLE ARN');
  }
  const base = {
    roleArn: conn.assumeRoleArn,
    sessionName: conn.assumeRoleSessionName ?? defaultSessionName(environmentId, conn.id),
    region: conn.region,
    endpoint: conn.endpoint,
  };
  try {
    const role = await access.assumeRole({ ...base, externalId: conn.externalId });
    await access.getCallerIdentity(role);
  } catch (e) {
    throw new MzError(SqlState.SystemError, e instanceof AwsError ? e.message : describeAwsError(e));
  }
  let insecure = false;
  try {
    await access.assumeRole({ ...base, externalId: null });
    insecure = true;
  } catch {
    // refused without the external ID: the trust policy is as it should be
  }
  if (insecure) {
    throw new MzError(SqlState.SystemError, 'role trust policy does not require an external ID', {
      detail: `The trust policy for the connection's role (${conn.assumeRoleArn}) is insecure and allows any Materialize customer to assume the role.`,
      hint: TRUST_POLICY_HINT,
    });
  }
}
