/**
 * What onboarding and offboarding would do, for the CLI's --plan: the IAM documents and the SQL, exactly as the
 * activities build them, with the values only a run can learn (account ID, principal, external ID) shown as
 * placeholders. Pure: changes nothing, needs no server.
 */
import { s3AccessPolicy, trustPolicy, type PolicyDocument } from '../common/iam-policies';
import { CONNECTION_TAG_KEY, connectionBinding, ownershipTags } from '../common/onboarding/ownership';
import type { ResolvedOffboardInput, ResolvedOnboardInput } from '../common/onboarding/input';
import {
  connectionCatalogSql,
  createConnectionSql,
  dropConnectionSql,
  probeCopySql,
  validateConnectionSql,
} from '../common/onboarding/sql';

const ACCOUNT = '<account id>';
const PRINCIPAL = '<principal from mz_internal.mz_aws_connections>';
const EXTERNAL_ID = '<external_id from mz_internal.mz_aws_connections>';
const ENVIRONMENT = '<mz_environment_id()>';

export interface OnboardingPlan {
  bucket: { name: string; region: string; ifMissing: string };
  policy: { name: string; document: PolicyDocument };
  role: { name: string; arn: string; tags: Record<string, string>; trustPolicy: PolicyDocument };
  connection: { name: string };
  sql: { createConnection: string; readCatalog: string; validate: string; probe: string };
  validation: { timeoutSeconds: number };
}

export function onboardingPlan(input: ResolvedOnboardInput): OnboardingPlan {
  const principal = input.materializePrincipal ?? PRINCIPAL;
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/${input.roleName}`;
  const region = input.region ?? "<the worker's AWS_REGION>";
  const tags = Object.fromEntries(ownershipTags(connectionBinding(ENVIRONMENT, input.connectionName)).map((t) => [t.Key, t.Value]));
  return {
    bucket: {
      name: input.bucket,
      region,
      ifMissing: input.createBucket
        ? 'create it: all public access blocked, object ownership BucketOwnerEnforced, tagged managed-by=mz-s3-export'
        : 'fail (createBucket is false)',
    },
    policy: { name: input.policyName, document: s3AccessPolicy(input.bucket, input.prefix) },
    role: {
      name: input.roleName,
      arn: roleArn,
      tags,
      trustPolicy: trustPolicy(principal, EXTERNAL_ID),
    },
    connection: { name: input.connectionName },
    sql: {
      createConnection: createConnectionSql(input.connectionName, roleArn, input.region ?? '<bucket region>'),
      readCatalog: connectionCatalogSql(input.connectionName),
      validate: validateConnectionSql(input.connectionName),
      probe: probeCopySql(input.connectionName, `s3://${input.bucket}/${input.prefix}/_probe/<run id>-0001/`),
    },
    validation: { timeoutSeconds: input.validationTimeoutSeconds },
  };
}

const json = (doc: unknown) => JSON.stringify(doc, null, 2);

export function renderOnboardingPlan(plan: OnboardingPlan): string {
  return [
    `Plan (nothing is changed; values in <...> are learnt during the run):`,
    ``,
    `1. Preflight, read-only: the bucket, and that role ${plan.role.name}, policy ${plan.policy.name} and connection`,
    `   ${plan.connection.name} serve no other connection (${CONNECTION_TAG_KEY} tags, attachments, the catalog).`,
    ``,
    `2. ${plan.sql.createConnection};`,
    ``,
    `3. ${plan.sql.readCatalog}; then the preflight again with the principal and external ID it reports.`,
    ``,
    `4. Bucket ${plan.bucket.name} in ${plan.bucket.region}: adopted if it exists; otherwise ${plan.bucket.ifMissing}.`,
    ``,
    `5. IAM policy ${plan.policy.name}, tagged ${JSON.stringify(plan.role.tags)} (created, or a new default version when this connection's differs):`,
    json(plan.policy.document),
    ``,
    `6. IAM role ${plan.role.name} (${plan.role.arn}), tagged the same, policy ${plan.policy.name} attached, trusting only:`,
    json(plan.role.trustPolicy),
    ``,
    `7. ${plan.sql.validate}; retried with backoff for up to ${plan.validation.timeoutSeconds} s while IAM propagates.`,
    ``,
    `8. ${plan.sql.probe};`,
    `   then every object the probe wrote is deleted.`,
  ].join('\n');
}

export function renderOffboardingPlan(input: ResolvedOffboardInput): string {
  const lines = [
    `Plan (nothing is changed):`,
    `0. Preflight, read-only: role ${input.roleName} and policy ${input.policyName} must be tagged ${CONNECTION_TAG_KEY} for this connection.`,
    `1. ${dropConnectionSql(input.connectionName)}; (only if it assumes role ${input.roleName})`,
    `2. Detach IAM policy ${input.policyName} from role ${input.roleName}, delete all its versions, delete it.`,
    `3. Delete IAM role ${input.roleName} (refused while other policies or instance profiles hang on it).`,
  ];
  lines.push(
    input.deleteData
      ? `4. Delete every object under s3://${input.bucket}/${input.prefix}/, then the bucket if it is empty and this project created it.`
      : `4. The data in the bucket stays (deleteData is false).`,
  );
  return lines.join('\n');
}
