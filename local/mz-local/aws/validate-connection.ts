/**
 * VALIDATE CONNECTION for AWS assume-role connections, as Materialize does it
 * (src/storage-types/src/connections/aws.rs, AwsConnection::validate):
 *   1. assume the role with the connection's external ID and call STS GetCallerIdentity; an AWS error is
 *      reported with AWS's own message (retryable: IAM may still be propagating);
 *   2. assume the role without an external ID; if that works the role's trust policy is insecure and
 *      validation fails with "role trust policy does not require an external ID" (a configuration error).
 */
import type { AwsConnectionRecord } from '../catalog/catalog';
import type { Secrets } from '../catalog/secrets';
import { MzError, SqlState } from '../errors';
import { AwsError, describeAwsError, type AssumedRole, type AwsAccess } from './aws-access';

export const TRUST_POLICY_HINT = 'See: https://materialize.com/s/aws-connection-role-trust-policy';

/** The role session name Materialize uses when the connection does not set one. */
export function defaultSessionName(environmentId: string, connectionId: string): string {
  return `${environmentId}-${connectionId}`;
}

/** The static credentials of an ACCESS KEY ID / SECRET ACCESS KEY connection, secrets resolved. */
export function connectionCredentials(conn: AwsConnectionRecord, secrets: Secrets): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  const text = (id: string) => secrets.value(id).toString('utf8');
  const accessKeyId = conn.accessKeyIdSecretId ? text(conn.accessKeyIdSecretId) : conn.accessKeyId!;
  const sessionToken = conn.sessionTokenSecretId ? text(conn.sessionTokenSecretId) : (conn.sessionToken ?? undefined);
  return { accessKeyId, secretAccessKey: text(conn.secretAccessKeySecretId!), ...(sessionToken ? { sessionToken } : {}) };
}

/**
 * The identity a connection's AWS calls run as: its role, assumed with its external ID, or the IAM user of
 * its access key. `unknownKey` picks the service whose error an unknown key gets (STS for VALIDATE, S3 for COPY).
 */
export async function connectionIdentity(
  access: AwsAccess,
  conn: AwsConnectionRecord,
  environmentId: string,
  secrets: Secrets,
  unknownKey: 'sts' | 's3',
): Promise<AssumedRole> {
  if (conn.assumeRoleArn) {
    return access.assumeRole({
      roleArn: conn.assumeRoleArn,
      sessionName: conn.assumeRoleSessionName ?? defaultSessionName(environmentId, conn.id),
      externalId: conn.externalId,
      region: conn.region,
      endpoint: conn.endpoint,
    });
  }
  return access.staticCredentials(connectionCredentials(conn, secrets), { region: conn.region, endpoint: conn.endpoint }, unknownKey);
}

export async function validateAwsConnection(access: AwsAccess, conn: AwsConnectionRecord, environmentId: string, secrets: Secrets): Promise<void> {
  if (!conn.assumeRoleArn) return validateCredentials(access, conn, environmentId, secrets);
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

/**
 * VALIDATE for access-key connections: STS GetCallerIdentity with the credentials at the connection's
 * endpoint. An S3 compatible object storage service (a connection with its own ENDPOINT) has no STS, so it
 * fails there, as Materialize's guide warns (doc/user/content/serve-results/sink/s3_compatible.md:
 * "Using VALIDATE CONNECTION to test a connection to S3 compatible object storage service will result in an
 * error"); the connection still works for COPY.
 */
async function validateCredentials(access: AwsAccess, conn: AwsConnectionRecord, environmentId: string, secrets: Secrets): Promise<void> {
  if (conn.endpoint) {
    throw new MzError(
      SqlState.SystemError,
      `service error: GetCallerIdentity is not available at the S3 compatible endpoint ${conn.endpoint}`,
      { hint: 'VALIDATE CONNECTION only works for AWS S3 connections; the connection can still be used with COPY ... TO.' },
    );
  }
  try {
    const identity = await connectionIdentity(access, conn, environmentId, secrets, 'sts');
    await access.getCallerIdentity(identity);
  } catch (e) {
    throw new MzError(SqlState.SystemError, e instanceof AwsError ? `${e.code}: ${e.message}` : describeAwsError(e));
  }
}
