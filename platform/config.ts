/**
 * Process configuration from environment variables with their standard names, validated once at start so a
 * wrong value fails with a message that names the variable and says what to change. Nothing here enters a
 * workflow: workflows name a Materialize profile and the worker resolves it (secrets stay in the worker).
 */
import * as fs from 'node:fs';
import { InvalidInputError } from '../common/failures';
import type { MaterializePasswordSource } from './materialize-client-config';
import { loadTemporalSettings, type TemporalConnectionSettings } from './temporal-profile';
import { connectionUrlProblem } from './connection-url';
import { loadStorageProfiles, type StorageProfile } from './storage-profiles';

export { redactUrl } from './connection-url';

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  /** TLS on (TEMPORAL_TLS, a profile's tls section, certificates, or an API key). */
  tls: boolean;
  /** What the worker and the CLI pass to NativeConnection / Connection (platform/temporal-profile.ts). */
  connection: Omit<TemporalConnectionSettings, 'description' | 'namespace'> & { address: string };
  /** What the connection amounts to (profile, TLS files, API key: never a secret), for logs and errors. */
  description: string;
}

export interface AwsConfig {
  /** AWS_REGION or AWS_DEFAULT_REGION; unset: the AWS SDK's own chain (the profile's region in ~/.aws/config). */
  region?: string;
  /** AWS_PROFILE, for the region and credentials of that profile (as the AWS CLI reads them). */
  profile?: string;
  /** AWS_CONFIG_FILE, where the profile's region is read (default ~/.aws/config). */
  configFile?: string;
  /** Set for emulators (moto); implies path-style S3 addressing. */
  endpoint?: string;
}

export interface Config {
  temporal: TemporalConfig;
  aws: AwsConfig;
  /** Materialize connection URLs by profile name; `default` comes from MZ_URL. */
  materializeProfiles: Record<string, string>;
  /** Where each profile's password comes from when its URL has none (platform/materialize-client-config.ts). */
  materializePasswords: Record<string, MaterializePasswordSource>;
  /** S3-compatible stores by profile name (platform/storage-profiles.ts): endpoint, region, where the key is. */
  storageProfiles: Record<string, StorageProfile>;
}

export const DEFAULTS = {
  temporalAddress: '127.0.0.1:7233',
  namespace: 'default',
  taskQueue: 'mz-s3-export',
  mzUrl: 'postgres://materialize@127.0.0.1:6875/materialize',
} as const;

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const check = <T>(name: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`);
      return undefined;
    }
  };

  check('TEMPORAL_TLS', () => parseBool(env.TEMPORAL_TLS, false));
  const temporal = check('Temporal connection', () => loadTemporalSettings(env));
  const address = check('TEMPORAL_ADDRESS', () => parseHostPort(temporal?.address ?? DEFAULTS.temporalAddress));
  const namespace = temporal?.namespace ?? DEFAULTS.namespace;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(namespace))
    problems.push(`TEMPORAL_NAMESPACE: "${namespace}" is not a namespace name (letters, digits, '.', '_', '-')`);
  const taskQueue = env.TEMPORAL_TASK_QUEUE ?? DEFAULTS.taskQueue;
  if (!taskQueue.trim()) problems.push('TEMPORAL_TASK_QUEUE: must not be empty');

  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
    problems.push(`AWS_REGION: "${region}" is not an AWS region such as us-east-1`);
  const endpoint = env.AWS_ENDPOINT_URL
    ? check('AWS_ENDPOINT_URL', () => parseUrl(env.AWS_ENDPOINT_URL!, ['http:', 'https:']))
    : undefined;

  const materializeProfiles: Record<string, string> = {};
  const defaultUrl = env.MZ_URL ?? DEFAULTS.mzUrl;
  const addProfile = (name: string, varName: string, url: string) => {
    if (check(varName, () => parseUrl(url, ['postgres:', 'postgresql:']))) materializeProfiles[name] = url;
  };
  addProfile('default', 'MZ_URL', defaultUrl);
  for (const [k, v] of Object.entries(env)) {
    const m = /^MZ_URL_([A-Z0-9_]+)$/.exec(k);
    if (m && v) addProfile(m[1].toLowerCase(), k, v);
  }

  const materializePasswords: Record<string, MaterializePasswordSource> = {};
  for (const profile of Object.keys(materializeProfiles)) {
    const variable = profile === 'default' ? 'MZ_PASSWORD_FILE' : `MZ_PASSWORD_FILE_${profile.toUpperCase()}`;
    const file = env[variable] ? { variable, path: env[variable]! } : undefined;
    if (file && !fs.existsSync(file.path)) problems.push(`${variable}: ${file.path} does not exist`);
    materializePasswords[profile] = { file, env: env.PGPASSWORD };
  }

  const storage = loadStorageProfiles(env);
  problems.push(...storage.problems);

  if (problems.length) {
    throw new InvalidInputError(`configuration is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    temporal: {
      address: address!,
      namespace,
      taskQueue,
      tls: Boolean(temporal!.tls),
      connection: { address: address!, apiKey: temporal!.apiKey, tls: temporal!.tls, metadata: temporal!.metadata },
      description: temporal!.description,
    },
    aws: { region, endpoint, profile: env.AWS_PROFILE || undefined, configFile: env.AWS_CONFIG_FILE || undefined },
    materializeProfiles,
    materializePasswords,
    storageProfiles: storage.profiles,
  };
}

export function parseHostPort(value: string): string {
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(value.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new Error(`"${value}" is not host:port, e.g. 127.0.0.1:7233 or my-ns.a1b2c.tmprl.cloud:7233`);
  }
  return value.trim();
}

/** The URL if it parses and uses one of `protocols`; the error never repeats the URL (it may hold a password). */
export function parseUrl(value: string, protocols: string[]): string {
  const problem = connectionUrlProblem(value, protocols);
  if (problem) throw new Error(problem);
  return value;
}

function parseBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new Error(`"${value}" is not a boolean; use true or false`);
}

/** The Materialize URL for a profile, or an error naming the variable to set. */
export function materializeUrl(config: Config, profile = 'default'): string {
  const url = config.materializeProfiles[profile];
  if (!url) {
    const known = Object.keys(config.materializeProfiles).join(', ');
    throw new InvalidInputError(
      `unknown Materialize profile "${profile}"; set MZ_URL_${profile.toUpperCase()} on the worker (known: ${known})`,
      'materializeProfile',
    );
  }
  return url;
}
