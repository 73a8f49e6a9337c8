/**
 * Validation and defaults of the onboarding and offboarding inputs, in one place. Pure (the workflow runs it
 * first, before any activity, and the CLI runs it before starting anything): every problem is reported at once,
 * each saying what to change.
 */
import {
  bucketNameProblem,
  checkField,
  iamNameProblem,
  iamPrincipalArnProblem,
  normalizePrefix,
  prefixProblem,
  regionProblem,
} from '../aws-names';
import { Problems } from '../failures';
import type { OffboardInput, OnboardInput, ResolvedCompatibleOffboardInput, ResolvedCompatibleOnboardInput, RetryInput } from './types';
import { storageProfileProblem } from '../storage-profile';

export const ONBOARDING_DEFAULTS = {
  createBucket: true,
  materializeProfile: 'default',
  validationTimeoutSeconds: 600,
  stepTimeoutSeconds: 300,
  retry: { initialIntervalSeconds: 2, maximumIntervalSeconds: 30, backoffCoefficient: 2 },
} as const;

export interface ResolvedRetry {
  initialIntervalSeconds: number;
  maximumIntervalSeconds: number;
  backoffCoefficient: number;
}

export interface ResolvedOnboardInput {
  bucket: string;
  /** Without a trailing slash. */
  prefix: string;
  createBucket: boolean;
  /** Undefined: the worker's region for a new bucket, the bucket's own region for an adopted one. */
  region?: string;
  roleName: string;
  policyName: string;
  connectionName: string;
  materializePrincipal?: string;
  materializeProfile: string;
  validationTimeoutSeconds: number;
  stepTimeoutSeconds: number;
  retry: ResolvedRetry;
}

export interface ResolvedOffboardInput {
  connectionName: string;
  roleName: string;
  policyName: string;
  materializeProfile: string;
  deleteData: boolean;
  bucket?: string;
  prefix?: string;
  stepTimeoutSeconds: number;
  retry: ResolvedRetry;
}

const ONBOARD_FIELDS: readonly (keyof OnboardInput)[] = [
  'bucket',
  'prefix',
  'createBucket',
  'region',
  'roleName',
  'policyName',
  'connectionName',
  'materializePrincipal',
  'materializeProfile',
  'validationTimeoutSeconds',
  'retry',
  'stepTimeoutSeconds',
];

/** Every field of an offboarding input (the CLI keeps only these from an onboarding input file). */
export const OFFBOARD_FIELDS: readonly (keyof OffboardInput)[] = [
  'connectionName',
  'roleName',
  'policyName',
  'materializeProfile',
  'deleteData',
  'bucket',
  'prefix',
  'retry',
  'stepTimeoutSeconds',
];

/**
 * A connection name this project creates: one plain lower-case SQL identifier, so it is written the same way
 * quoted or not in every tool a user may reach for (psql, the Materialize console, dbt). Names that would need
 * quoting are refused rather than silently created in a form the user cannot type unquoted.
 */
export function connectionNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name))
    return `"${name}" would need quoting in SQL; use lower-case letters, digits and '_', starting with a letter or '_', e.g. s3_export_conn`;
  return undefined;
}

export function profileProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || !/^[a-z0-9_]{1,64}$/.test(name))
    return `${JSON.stringify(name)} is not a profile name; use lower-case letters, digits and '_' (the worker reads MZ_URL_<PROFILE>)`;
  return undefined;
}

function numberField(
  problems: Problems,
  field: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    problems.add(field, `${JSON.stringify(value)} must be a number from ${min} to ${max}`);
    return fallback;
  }
  return value;
}

function resolveRetry(problems: Problems, value: unknown): ResolvedRetry {
  const d = ONBOARDING_DEFAULTS.retry;
  if (value === undefined) return { ...d };
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    problems.add('retry', 'must be an object such as {"initialIntervalSeconds": 2, "maximumIntervalSeconds": 30}');
    return { ...d };
  }
  const r = value as RetryInput & Record<string, unknown>;
  unknownFields(problems, 'retry.', r, ['initialIntervalSeconds', 'maximumIntervalSeconds', 'backoffCoefficient']);
  const initial = numberField(problems, 'retry.initialIntervalSeconds', r.initialIntervalSeconds, d.initialIntervalSeconds, 0.1, 3600);
  const maximum = numberField(
    problems,
    'retry.maximumIntervalSeconds',
    r.maximumIntervalSeconds,
    Math.max(d.maximumIntervalSeconds, initial),
    0.1,
    3600,
  );
  if (maximum < initial) problems.add('retry.maximumIntervalSeconds', `${maximum} must not be less than initialIntervalSeconds (${initial})`);
  const coefficient = numberField(problems, 'retry.backoffCoefficient', r.backoffCoefficient, d.backoffCoefficient, 1, 10);
  return { initialIntervalSeconds: initial, maximumIntervalSeconds: maximum, backoffCoefficient: coefficient };
}

/** How each step of either workflow is timed and retried: the last fields both inputs resolve, in this order. */
function resolveStepping(problems: Problems, i: Record<string, unknown>): { stepTimeoutSeconds: number; retry: ResolvedRetry } {
  const stepTimeoutSeconds = numberField(problems, 'stepTimeoutSeconds', i.stepTimeoutSeconds, ONBOARDING_DEFAULTS.stepTimeoutSeconds, 1, 24 * 3600);
  return { stepTimeoutSeconds, retry: resolveRetry(problems, i.retry) };
}

function unknownFields(problems: Problems, prefix: string, obj: object, known: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) problems.add(`${prefix}${k}`, `is not a known field; the fields are ${known.join(', ')}`);
  }
}

function asObject(input: unknown, what: string): Record<string, unknown> {
  const problems = new Problems();
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    problems.add('input', 'must be one JSON object');
    problems.throwIfAny(what);
  }
  return input as Record<string, unknown>;
}

function optionalBoolean(problems: Problems, field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    problems.add(field, `${JSON.stringify(value)} must be true or false`);
    return fallback;
  }
  return value;
}

/** Throws InvalidInputError listing every problem; otherwise the input with every default filled in. */
export function resolveOnboardInput(input: unknown): ResolvedOnboardInput {
  const i = asObject(input, 'the onboarding input');
  const problems = new Problems();
  const { storageProfile, ...rest } = i;
  unknownFields(problems, '', rest, ONBOARD_FIELDS);
  if (storageProfile !== undefined)
    problems.add('storageProfile', 'names an S3-compatible store: start onboardS3CompatibleConnection with this input instead (onboardAwsConnection sets up AWS S3 with IAM)');
  checkField(problems, 'bucket', bucketNameProblem(i.bucket));
  checkField(problems, 'prefix', prefixProblem(i.prefix));
  checkField(problems, 'roleName', iamNameProblem(i.roleName, 'role'));
  checkField(problems, 'policyName', iamNameProblem(i.policyName, 'policy'));
  checkField(problems, 'connectionName', connectionNameProblem(i.connectionName));
  if (i.region !== undefined) checkField(problems, 'region', regionProblem(i.region));
  if (i.materializePrincipal !== undefined)
    checkField(problems, 'materializePrincipal', iamPrincipalArnProblem(i.materializePrincipal));
  if (i.materializeProfile !== undefined) checkField(problems, 'materializeProfile', profileProblem(i.materializeProfile));
  const createBucket = optionalBoolean(problems, 'createBucket', i.createBucket, ONBOARDING_DEFAULTS.createBucket);
  const validationTimeoutSeconds = numberField(
    problems,
    'validationTimeoutSeconds',
    i.validationTimeoutSeconds,
    ONBOARDING_DEFAULTS.validationTimeoutSeconds,
    1,
    24 * 3600,
  );
  const stepping = resolveStepping(problems, i);
  problems.throwIfAny('the onboarding input');
  return {
    bucket: i.bucket as string,
    prefix: normalizePrefix(i.prefix as string),
    createBucket,
    region: i.region as string | undefined,
    roleName: i.roleName as string,
    policyName: i.policyName as string,
    connectionName: i.connectionName as string,
    materializePrincipal: i.materializePrincipal as string | undefined,
    materializeProfile: (i.materializeProfile as string | undefined) ?? ONBOARDING_DEFAULTS.materializeProfile,
    validationTimeoutSeconds,
    ...stepping,
  };
}

export function resolveOffboardInput(input: unknown): ResolvedOffboardInput {
  const i = asObject(input, 'the offboarding input');
  const problems = new Problems();
  const { storageProfile, ...rest } = i;
  unknownFields(problems, '', rest, OFFBOARD_FIELDS);
  if (storageProfile !== undefined)
    problems.add('storageProfile', 'names an S3-compatible store: start offboardS3CompatibleConnection with this input instead');
  checkField(problems, 'connectionName', connectionNameProblem(i.connectionName));
  checkField(problems, 'roleName', iamNameProblem(i.roleName, 'role'));
  checkField(problems, 'policyName', iamNameProblem(i.policyName, 'policy'));
  const shared = resolveOffboardingCommon(problems, i);
  problems.throwIfAny('the offboarding input');
  return {
    connectionName: i.connectionName as string,
    roleName: i.roleName as string,
    policyName: i.policyName as string,
    ...shared,
  };
}

/** The wait before attempt n+1 (n >= 1), in milliseconds. */
export function backoffMs(retry: ResolvedRetry, attempt: number): number {
  const s = retry.initialIntervalSeconds * Math.pow(retry.backoffCoefficient, Math.max(0, attempt - 1));
  return Math.round(Math.min(s, retry.maximumIntervalSeconds) * 1000);
}

/** Whether an onboarding or offboarding input names an S3-compatible store (storageProfile) rather than AWS S3. */
export function isCompatibleInput(input: unknown): boolean {
  return Boolean(input && typeof input === 'object' && !Array.isArray(input) && (input as Record<string, unknown>).storageProfile !== undefined);
}

/** The AWS-only fields, refused with a storage profile: an S3-compatible store has no IAM and no VALIDATE. */
const AWS_ONLY_FIELDS = ['roleName', 'policyName', 'region', 'createBucket', 'materializePrincipal', 'validationTimeoutSeconds'];

const COMPATIBLE_ONBOARD_FIELDS = ['storageProfile', 'bucket', 'prefix', 'connectionName', 'materializeProfile', 'retry', 'stepTimeoutSeconds'];
const COMPATIBLE_OFFBOARD_FIELDS = ['storageProfile', 'connectionName', 'materializeProfile', 'deleteData', 'bucket', 'prefix', 'retry', 'stepTimeoutSeconds'];

/** Unknown fields, with the AWS-only ones told apart: they belong to the other workflow. */
function awsOnlyFields(problems: Problems, i: Record<string, unknown>, known: readonly string[]): void {
  const rest = Object.fromEntries(Object.entries(i).filter(([k]) => !AWS_ONLY_FIELDS.includes(k)));
  unknownFields(problems, '', rest, known);
  for (const f of AWS_ONLY_FIELDS) {
    if (i[f] !== undefined)
      problems.add(f, `applies to AWS S3 only; with storageProfile (an S3-compatible store: no IAM role or policy, no VALIDATE CONNECTION, the bucket must exist) remove it`);
  }
}

/** The onboarding input of an S3-compatible store: storageProfile, bucket, prefix, connectionName. */
export function resolveCompatibleOnboardInput(input: unknown): ResolvedCompatibleOnboardInput {
  const i = asObject(input, 'the onboarding input');
  const problems = new Problems();
  awsOnlyFields(problems, i, COMPATIBLE_ONBOARD_FIELDS);
  checkField(problems, 'storageProfile', storageProfileProblem(i.storageProfile));
  checkField(problems, 'bucket', bucketNameProblem(i.bucket));
  checkField(problems, 'prefix', prefixProblem(i.prefix));
  checkField(problems, 'connectionName', connectionNameProblem(i.connectionName));
  if (i.materializeProfile !== undefined) checkField(problems, 'materializeProfile', profileProblem(i.materializeProfile));
  const stepping = resolveStepping(problems, i);
  problems.throwIfAny('the onboarding input');
  return {
    storageProfile: i.storageProfile as string,
    bucket: i.bucket as string,
    prefix: normalizePrefix(i.prefix as string),
    connectionName: i.connectionName as string,
    materializeProfile: (i.materializeProfile as string | undefined) ?? ONBOARDING_DEFAULTS.materializeProfile,
    ...stepping,
  };
}

export function resolveCompatibleOffboardInput(input: unknown): ResolvedCompatibleOffboardInput {
  const i = asObject(input, 'the offboarding input');
  const problems = new Problems();
  awsOnlyFields(problems, i, COMPATIBLE_OFFBOARD_FIELDS);
  checkField(problems, 'storageProfile', storageProfileProblem(i.storageProfile));
  checkField(problems, 'connectionName', connectionNameProblem(i.connectionName));
  const shared = resolveOffboardingCommon(problems, i);
  problems.throwIfAny('the offboarding input');
  return {
    storageProfile: i.storageProfile as string,
    connectionName: i.connectionName as string,
    ...shared,
  };
}

/** What both offboarding inputs share: the Materialize profile, whether to delete the data and where, the stepping. */
function resolveOffboardingCommon(problems: Problems, i: Record<string, unknown>) {
  if (i.materializeProfile !== undefined) checkField(problems, 'materializeProfile', profileProblem(i.materializeProfile));
  const deleteData = optionalBoolean(problems, 'deleteData', i.deleteData, false);
  if (i.bucket !== undefined || deleteData) checkField(problems, 'bucket', bucketNameProblem(i.bucket));
  if (i.prefix !== undefined || deleteData) checkField(problems, 'prefix', prefixProblem(i.prefix));
  return {
    materializeProfile: (i.materializeProfile as string | undefined) ?? ONBOARDING_DEFAULTS.materializeProfile,
    deleteData,
    bucket: i.bucket as string | undefined,
    prefix: i.prefix === undefined ? undefined : normalizePrefix(i.prefix as string),
    ...resolveStepping(problems, i),
  };
}
