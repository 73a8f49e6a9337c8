/**
 * The IAM documents onboarding applies, and the comparisons that decide whether an existing document can be
 * adopted. Pure: built from objects and serialized with JSON.stringify, never by splicing user values into
 * JSON text; the workflow, the activities and the CLI's --plan all use the same functions.
 */

export const POLICY_VERSION = '2012-10-17';
/** The external ID of the guide's placeholder trust policy, before Materialize has issued the real one. */
export const PENDING_EXTERNAL_ID = 'PENDING';
/** The tag that marks IAM roles, policies and buckets this project created or adopted. */
export const MANAGED_BY_TAG = { Key: 'managed-by', Value: 'mz-s3-export' } as const;

export type ConditionBlock = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny' | string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: '*' | Record<string, string | string[]>;
  NotPrincipal?: '*' | Record<string, string | string[]>;
  Condition?: ConditionBlock;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[] | PolicyStatement;
}

export function bucketArn(bucket: string): string {
  return `arn:aws:s3:::${bucket}`;
}

/**
 * The least-privilege S3 policy of the guide: write and delete objects under <prefix>/, list the bucket only
 * for keys under <prefix>/. COPY TO S3 needs exactly these three actions (ListBucket for its "path is not
 * empty" check, DeleteObject for its permission preflight and the sentinel, PutObject for the files).
 */
export function s3AccessPolicy(bucket: string, prefix: string): PolicyDocument {
  return {
    Version: POLICY_VERSION,
    Statement: [
      {
        Sid: 'MzS3ExportWriteObjects',
        Effect: 'Allow',
        Action: ['s3:PutObject', 's3:DeleteObject'],
        Resource: [`${bucketArn(bucket)}/${prefix}/*`],
      },
      {
        Sid: 'MzS3ExportListPrefix',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [bucketArn(bucket)],
        Condition: { StringLike: { 's3:prefix': [`${prefix}/*`] } },
      },
    ],
  };
}

/** The role's trust policy: only Materialize's principal, and only with this external ID. */
export function trustPolicy(principal: string, externalId: string): PolicyDocument {
  return {
    Version: POLICY_VERSION,
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: principal },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'sts:ExternalId': externalId } },
      },
    ],
  };
}

export function placeholderTrustPolicy(principal: string): PolicyDocument {
  return trustPolicy(principal, PENDING_EXTERNAL_ID);
}

export function serializePolicy(doc: PolicyDocument): string {
  return JSON.stringify(doc);
}

/** IAM returns documents URL-encoded (AWS) or as plain JSON (some emulators); accept both. */
export function parsePolicyDocument(text: string | object): PolicyDocument {
  if (typeof text === 'object') return text as PolicyDocument;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = JSON.parse(decodeURIComponent(text));
  }
  if (!parsed || typeof parsed !== 'object' || !('Statement' in parsed)) {
    throw new Error('not an IAM policy document: it has no Statement');
  }
  return parsed as PolicyDocument;
}

export function statementsOf(doc: PolicyDocument): PolicyStatement[] {
  return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const sorted = (v: string[]) => [...v].sort();

function principalList(p: PolicyStatement['Principal']): string[] {
  if (p === undefined) return [];
  if (p === '*') return ['*'];
  return sorted(Object.entries(p).flatMap(([kind, v]) => list(v).map((x) => `${kind}:${x}`)));
}

/** A statement in one canonical form: order of actions, resources and values does not matter; Sid does not. */
function canonical(s: PolicyStatement): string {
  const condition = Object.fromEntries(
    Object.entries(s.Condition ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([op, kv]) => [
        op,
        Object.fromEntries(
          Object.entries(kv)
            .map(([k, v]) => [k.toLowerCase(), sorted(list(v))] as const)
            .sort(([a], [b]) => a.localeCompare(b)),
        ),
      ]),
  );
  return JSON.stringify({
    effect: s.Effect,
    action: sorted(list(s.Action).map((a) => a.toLowerCase())),
    notAction: sorted(list(s.NotAction).map((a) => a.toLowerCase())),
    resource: sorted(list(s.Resource)),
    notResource: sorted(list(s.NotResource)),
    principal: principalList(s.Principal),
    notPrincipal: principalList(s.NotPrincipal),
    condition,
  });
}

/** A statement in one readable line, for messages that say what differs. */
export function describeStatement(s: PolicyStatement): string {
  const parts = [s.Effect];
  const principals = principalList(s.Principal);
  if (principals.length) parts.push(`principal ${principals.join(',')}`);
  if (s.NotPrincipal) parts.push(`not principal ${principalList(s.NotPrincipal).join(',')}`);
  if (s.Action) parts.push(sorted(list(s.Action)).join(','));
  if (s.NotAction) parts.push(`all but ${sorted(list(s.NotAction)).join(',')}`);
  if (s.Resource) parts.push(`on ${sorted(list(s.Resource)).join(',')}`);
  if (s.NotResource) parts.push(`on all but ${sorted(list(s.NotResource)).join(',')}`);
  for (const [op, kv] of Object.entries(s.Condition ?? {})) {
    for (const [k, v] of Object.entries(kv)) parts.push(`if ${op} ${k}=${list(v).join('|')}`);
  }
  return parts.join(' ');
}

/**
 * What an existing document has that the expected one has not, and the reverse; empty when they grant the
 * same (statement order, value order, Sids and the case of action names do not matter).
 */
export function policyDifferences(actual: PolicyDocument, expected: PolicyDocument): string[] {
  const have = statementsOf(actual);
  const want = statementsOf(expected);
  const haveKeys = new Set(have.map(canonical));
  const wantKeys = new Set(want.map(canonical));
  const diffs: string[] = [];
  for (const s of want) if (!haveKeys.has(canonical(s))) diffs.push(`missing: ${describeStatement(s)}`);
  for (const s of have) if (!wantKeys.has(canonical(s))) diffs.push(`unexpected: ${describeStatement(s)}`);
  return diffs;
}

function grantsAssumeRole(s: PolicyStatement): boolean {
  if (s.Effect !== 'Allow') return false;
  if (s.NotAction !== undefined) return !list(s.NotAction).some((a) => /^(sts:assumerole|sts:\*|\*)$/i.test(a));
  return list(s.Action).some((a) => /^(sts:assumerole|sts:\*|\*)$/i.test(a));
}

/** The external IDs a statement requires, or undefined when it can be satisfied without one. */
function requiredExternalIds(s: PolicyStatement): string[] | undefined {
  for (const [op, kv] of Object.entries(s.Condition ?? {})) {
    if (op !== 'StringEquals') continue;
    for (const [k, v] of Object.entries(kv)) {
      if (k.toLowerCase() === 'sts:externalid' && list(v).length > 0) return list(v);
    }
  }
  return undefined;
}

export interface TrustAssessment {
  /** Some statement lets a principal assume the role without an external ID: insecure. */
  assumableWithoutExternalId: boolean;
  /** Every principal some statement lets assume the role. */
  principals: string[];
  /** Every external ID some statement requires. */
  externalIds: string[];
}

export function assessTrustPolicy(doc: PolicyDocument): TrustAssessment {
  const assume = statementsOf(doc).filter(grantsAssumeRole);
  const principals = new Set<string>();
  const externalIds = new Set<string>();
  let open = false;
  for (const s of assume) {
    for (const p of principalList(s.Principal)) principals.add(p.replace(/^AWS:/, ''));
    if (s.NotPrincipal) open = true;
    const ids = requiredExternalIds(s);
    if (ids === undefined) open = true;
    else ids.forEach((id) => externalIds.add(id));
  }
  return { assumableWithoutExternalId: open, principals: sorted([...principals]), externalIds: sorted([...externalIds]) };
}

/** True when the document trusts exactly this principal and nothing else, with any external ID or the placeholder. */
export function trustsOnlyPrincipal(doc: PolicyDocument, principal: string): boolean {
  const a = assessTrustPolicy(doc);
  return a.principals.length === 1 && a.principals[0] === principal;
}
