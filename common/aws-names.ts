/** Validation of AWS names and ARNs before any call, with messages that say what to change. */
import { Problems } from './failures';

/** S3 general purpose bucket naming rules. */
export function bucketNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  if (name.length < 3 || name.length > 63) return `"${name}" must be 3 to 63 characters long`;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name))
    return `"${name}" may contain only lower-case letters, digits, '.' and '-', and must start and end with a letter or digit`;
  if (name.includes('..')) return `"${name}" must not contain two adjacent periods`;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return `"${name}" must not be formatted as an IP address`;
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name) || /(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name))
    return `"${name}" uses a prefix or suffix that S3 reserves`;
  return undefined;
}

/** S3's "safe" key characters (AWS: object key naming guidelines) without '*', which IAM reads as a wildcard. */
const PREFIX_SEGMENT = /^[A-Za-z0-9!_.'()=-]+$/;

/**
 * The one prefix grammar, for onboarding and export alike: a key prefix under which this project writes.
 * Relative and '/'-separated with one optional trailing '/'; no empty or '.' segments; only S3's safe key
 * characters, and of those never '*' or '?' (IAM wildcards: the policy is built from the prefix), '..' or
 * '--' (a SQL comment, whatever quoting surrounds it). An empty prefix means the bucket root and is not
 * allowed, since the IAM policy scopes everything to it.
 */
export function prefixProblem(prefix: unknown): string | undefined {
  if (typeof prefix !== 'string') return 'must be a string';
  if (prefix.length === 0) return 'must not be empty: the IAM policy is scoped to this prefix';
  if (prefix.startsWith('/')) return `"${prefix}" must not start with '/'; write it relative to the bucket, e.g. exports/team`;
  const trimmed = prefix.replace(/\/$/, '');
  if (trimmed.length > 512) return 'must be at most 512 characters';
  if (/[*?]/.test(trimmed))
    return `"${prefix}" must not contain '*' or '?': IAM would read them as wildcards and widen the policy`;
  if (trimmed.includes('..')) return `"${prefix}" must not contain '..'; write the path without it`;
  if (trimmed.includes('--')) return `"${prefix}" must not contain '--' (SQL reads it as a comment); use a single '-'`;
  for (const seg of trimmed.split('/')) {
    if (seg === '' || seg === '.') return `"${prefix}" must not contain empty or '.' segments`;
    if (!PREFIX_SEGMENT.test(seg))
      return `"${prefix}": segment "${seg}" may contain only letters, digits and ! _ . ' ( ) = -`;
  }
  return undefined;
}

/** The prefix without a trailing slash, the one form used to build keys and ARNs. */
export function normalizePrefix(prefix: string): string {
  return prefix.replace(/\/+$/, '');
}

export function iamNameProblem(name: unknown, kind: 'role' | 'policy'): string | undefined {
  const max = kind === 'role' ? 64 : 128;
  if (typeof name !== 'string') return 'must be a string';
  if (!new RegExp(`^[\\w+=,.@-]{1,${max}}$`).test(name))
    return `"${name}" is not an IAM ${kind} name: 1 to ${max} characters of letters, digits and + = , . @ _ -`;
  return undefined;
}

/**
 * Materialize's principal: the IAM role it assumes connections' roles from, e.g.
 * arn:aws:iam::664411391173:role/MaterializeConnection (Materialize's cloud); self-managed deployments name their
 * own role. Only that shape may ever appear in a trust policy: not an account root, a user, a wildcard or a
 * session, each of which would trust far more than one role.
 */
const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

export function iamPrincipalArnProblem(arn: unknown): string | undefined {
  if (typeof arn !== 'string') return 'must be a string';
  if (!ROLE_ARN.test(arn))
    return `"${arn}" is not an IAM role ARN such as arn:aws:iam::664411391173:role/MaterializeConnection (Materialize's principal is always a role; an account root, a user or a wildcard would trust far more)`;
  return undefined;
}

/** The partition of an ARN ('aws', 'aws-cn', 'aws-us-gov'), or undefined when it is not an ARN. */
export function arnPartition(arn: string): string | undefined {
  return /^arn:([a-z-]+):/.exec(arn)?.[1];
}

export function regionProblem(region: unknown): string | undefined {
  if (typeof region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
    return `${JSON.stringify(region)} is not an AWS region such as us-east-1`;
  return undefined;
}

/** Adds a problem for field when check returns one. */
export function checkField(problems: Problems, field: string, problem: string | undefined): void {
  if (problem) problems.add(field, problem);
}
