/**
 * What onboarding and offboarding would do, for the CLI's --plan: the IAM documents and the SQL, exactly as the
 * activities build them, with the values only a run can learn (account ID, principal, external ID) shown as
 * placeholders. Pure: changes nothing, needs no server.
 */
import {
  MANAGED_BY_TAG,
  placeholderTrustPolicy,
  s3AccessPolicy,
  trustPolicy,
  type PolicyDocument,
} from '../common/iam-policies';
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

export interface OnboardingPlan {
  bucket: { name: string; region: string; ifMissing: string };
  policy: { name: string; document: PolicyDocument };
  role: { name: string; arn: string; tags: Record<string, string>; placeholderTrustPolicy: PolicyDocument };
  sql: { createConnection: string; readCatalog: string; validate: string; probe: string };
  finalTrustPolicy: PolicyDocument;
  validation: { timeoutSeconds: number };
}

export function onboardingPlan(input: ResolvedOnboardInput): OnboardingPlan {
  const principal = input.materializePrincipal ?? PRINCIPAL;
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/${input.roleName}`;
  const region = input.region ?? "<the worker's AWS_REGION>";
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
      tags: { [MANAGED_BY_TAG.Key]: MANAGED_BY_TAG.Value },
      placeholderTrustPolicy: placeholderTrustPolicy(principal),
    },
    sql: {
      createConnection: createConnectionSql(input.connectionName, roleArn, input.region ?? '<bucket region>'),
      readCatalog: connectionCatalogSql(input.connectionName),
      validate: validateConnectionSql(input.connectionName),
      probe: probeCopySql(input.connectionName, `s3://${input.bucket}/${input.prefix}/_probe/<run id>-0001/`),
    },
    finalTrustPolicy: trustPolicy(principal, EXTERNAL_ID),
    validation: { timeoutSeconds: input.validationTimeoutSeconds },
  };
}

const json = (doc: unknown) => JSON.stringify(doc, null, 2);

export function renderOnboardingPlan(plan: OnboardingPlan): string {
  return [
    `Plan (nothing is changed; values in <...> are learnt during the run):`,
    ``,
    `1. Bucket ${plan.bucket.name} in ${plan.bucket.region}: adopted if it exists; otherwise ${plan.bucket.ifMissing}.`,
    ``,
    `2. IAM policy ${plan.policy.name} (created, or a new default version when the existing one differs):`,
    json(plan.policy.document),
    ``,
    `3. IAM role ${plan.role.name} (${plan.role.arn}), tagged managed-by=mz-s3-export, policy ${plan.policy.name} attached,`,
    `   created with this placeholder trust policy (an existing role keeps its own until step 6):`,
    json(plan.role.placeholderTrustPolicy),
    ``,
    `4. ${plan.sql.createConnection};`,
    ``,
    `5. ${plan.sql.readCatalog};`,
    ``,
    `6. The role's trust policy becomes:`,
    json(plan.finalTrustPolicy),
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
