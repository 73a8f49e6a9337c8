/**
 * Storage profiles: S3-compatible object stores (Google Cloud Storage, Cloudflare R2, MinIO, ...) the worker
 * reaches with an access key instead of its AWS identity. A workflow input names a profile; its endpoint, region
 * and credentials live only in the worker's environment (or a credentials file it reads), never in workflow
 * input, results or history:
 *
 *   MZ_S3_EXPORT_STORAGE_<NAME>_ENDPOINT            https://storage.googleapis.com (required)
 *   MZ_S3_EXPORT_STORAGE_<NAME>_REGION              the store's region name, e.g. auto (R2), us (GCS) (required)
 *   MZ_S3_EXPORT_STORAGE_<NAME>_ACCESS_KEY_ID       } the access key, or
 *   MZ_S3_EXPORT_STORAGE_<NAME>_SECRET_ACCESS_KEY   }
 *   MZ_S3_EXPORT_STORAGE_<NAME>_CREDENTIALS_FILE    an AWS credentials file (aws_access_key_id, aws_secret_access_key),
 *                                                   re-read at every use, so a rotated key needs no restart
 *   MZ_S3_EXPORT_STORAGE_<NAME>_CREDENTIALS_PROFILE its section in that file (default `default`)
 *   MZ_S3_EXPORT_STORAGE_<NAME>_PATH_STYLE          path-style addressing (default true; false: virtual-hosted)
 *   MZ_S3_EXPORT_STORAGE_<NAME>_MATERIALIZE_ENDPOINT the endpoint as Materialize reaches it, when it differs
 *   MZ_S3_EXPORT_STORAGE_<NAME>_ALLOW_HTTP          true: accept http:// for a host that is not loopback (emulators)
 */
import { S3Client } from '@aws-sdk/client-s3';
import { loadSharedConfigFiles } from '@smithy/core/config';
import { InvalidInputError, UserFixableError } from '../common/failures';
import { registerSecrets } from './secret-values';

const PREFIX = 'MZ_S3_EXPORT_STORAGE_';
const FIELDS = [
  'ENDPOINT',
  'REGION',
  'ACCESS_KEY_ID',
  'SECRET_ACCESS_KEY',
  'CREDENTIALS_FILE',
  'CREDENTIALS_PROFILE',
  'PATH_STYLE',
  'MATERIALIZE_ENDPOINT',
  'ALLOW_HTTP',
] as const;
type Field = (typeof FIELDS)[number];
/** Longest first: MATERIALIZE_ENDPOINT is read as that field, not as ENDPOINT of a profile named ..._MATERIALIZE. */
const FIELDS_LONGEST_FIRST = [...FIELDS].sort((a, b) => b.length - a.length);

export type StorageCredentialsSource =
  | { kind: 'env'; accessKeyId: string; secretAccessKey: string }
  | { kind: 'file'; path: string; section: string };

export interface StorageProfile {
  name: string;
  /** What the worker's S3 client talks to. */
  endpoint: string;
  /** What Materialize's connection names (ENDPOINT); the same unless MATERIALIZE_ENDPOINT says otherwise. */
  materializeEndpoint: string;
  region: string;
  forcePathStyle: boolean;
  credentials: StorageCredentialsSource;
}

export interface StorageCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The variable that holds a profile's field, e.g. MZ_S3_EXPORT_STORAGE_R2_ENDPOINT. */
export function storageVariable(profile: string, field: Field): string {
  return `${PREFIX}${profile.toUpperCase()}_${field}`;
}

/** Every profile the environment defines (by its ENDPOINT variable), and every problem with them. */
export function loadStorageProfiles(env: Record<string, string | undefined>): { profiles: Record<string, StorageProfile>; problems: string[] } {
  const profiles: Record<string, StorageProfile> = {};
  const problems: string[] = [];
  const names = new Set<string>();
  for (const key of Object.keys(env)) {
    if (!key.startsWith(PREFIX) || !env[key]) continue;
    const field = FIELDS_LONGEST_FIRST.find((f) => key.endsWith(`_${f}`) && key.length > PREFIX.length + f.length + 1);
    const name = field && key.slice(PREFIX.length, -field.length - 1);
    if (!name || !/^[A-Z0-9_]+$/.test(name)) problems.push(`${key}: not a storage profile setting; use ${PREFIX}<NAME>_{${FIELDS.join('|')}}`);
    else names.add(name.toLowerCase());
  }
  for (const name of [...names].sort()) {
    const v = (f: Field) => env[storageVariable(name, f)] || undefined;
    const before = problems.length;
    const endpoint = endpointOf(problems, storageVariable(name, 'ENDPOINT'), v('ENDPOINT'), v('ALLOW_HTTP'));
    const materializeEndpoint = v('MATERIALIZE_ENDPOINT')
      ? endpointOf(problems, storageVariable(name, 'MATERIALIZE_ENDPOINT'), v('MATERIALIZE_ENDPOINT'), v('ALLOW_HTTP'))
      : endpoint;
    const region = v('REGION');
    if (!region) problems.push(`${storageVariable(name, 'REGION')}: required (the store's region name, e.g. auto for R2, us for GCS)`);
    else if (!/^[a-z0-9-]{1,40}$/.test(region)) problems.push(`${storageVariable(name, 'REGION')}: "${region}" is not a region name (lower-case letters, digits, '-')`);
    const pathStyle = v('PATH_STYLE') ?? 'true';
    if (!/^(true|false)$/.test(pathStyle)) problems.push(`${storageVariable(name, 'PATH_STYLE')}: "${pathStyle}" must be true or false`);
    const credentials = credentialsOf(problems, name, v);
    if (problems.length > before) continue;
    profiles[name] = { name, endpoint: endpoint!, materializeEndpoint: materializeEndpoint!, region: region!, forcePathStyle: pathStyle === 'true', credentials: credentials! };
  }
  return { profiles, problems };
}

function endpointOf(problems: string[], variable: string, value: string | undefined, allowHttp: string | undefined): string | undefined {
  if (!value) {
    problems.push(`${variable}: required (the store's S3 endpoint, e.g. https://storage.googleapis.com)`);
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${variable}: "${value}" is not a URL such as https://<account>.r2.cloudflarestorage.com`);
    return undefined;
  }
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    problems.push(`${variable}: write only the scheme, host and port (no credentials, path or query), e.g. https://storage.googleapis.com`);
    return undefined;
  }
  const loopback = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/.test(url.hostname);
  if (url.protocol === 'http:' && !loopback && allowHttp !== 'true') {
    problems.push(
      `${variable}: ${url.origin} is plain http to a host that is not this machine: the access key and the data would cross the network unencrypted; use https (an emulator on another host: also set ALLOW_HTTP=true for this profile)`,
    );
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`${variable}: "${url.protocol}" is not http or https`);
    return undefined;
  }
  return url.origin;
}

function credentialsOf(problems: string[], name: string, v: (f: Field) => string | undefined): StorageCredentialsSource | undefined {
  const id = v('ACCESS_KEY_ID');
  const secret = v('SECRET_ACCESS_KEY');
  const file = v('CREDENTIALS_FILE');
  if (file && (id || secret)) {
    problems.push(`${storageVariable(name, 'CREDENTIALS_FILE')}: set either it or ACCESS_KEY_ID and SECRET_ACCESS_KEY for profile ${name}, not both`);
    return undefined;
  }
  if (file) return { kind: 'file', path: file, section: v('CREDENTIALS_PROFILE') ?? 'default' };
  if (id && secret) return { kind: 'env', accessKeyId: id, secretAccessKey: secret };
  problems.push(
    `storage profile ${name} has no credentials: set ${storageVariable(name, 'ACCESS_KEY_ID')} and ${storageVariable(name, 'SECRET_ACCESS_KEY')}, or ${storageVariable(name, 'CREDENTIALS_FILE')}`,
  );
  return undefined;
}

/** The profile, or an error naming the variables to set on the worker. */
export function storageProfile(profiles: Record<string, StorageProfile>, name: string): StorageProfile {
  const p = profiles[name];
  if (!p) {
    const known = Object.keys(profiles);
    throw new InvalidInputError(
      `unknown storage profile "${name}": set ${storageVariable(name, 'ENDPOINT')}, ${storageVariable(name, 'REGION')} and its credentials on the worker (known: ${known.length ? known.join(', ') : 'none'})`,
      'storageProfile',
    );
  }
  return p;
}

/** The profile's access key as it is now (a credentials file is read again every time). Registered as secrets. */
export async function storageCredentials(p: StorageProfile): Promise<StorageCredentials> {
  let creds: StorageCredentials;
  if (p.credentials.kind === 'env') {
    creds = { accessKeyId: p.credentials.accessKeyId, secretAccessKey: p.credentials.secretAccessKey };
  } else {
    const { path, section } = p.credentials;
    const files = await loadSharedConfigFiles({ filepath: path, configFilepath: path, ignoreCache: true }).catch(() => undefined);
    const s = files?.credentialsFile?.[section];
    if (!s?.aws_access_key_id || !s.aws_secret_access_key) {
      throw new UserFixableError(
        `storage profile ${p.name}: ${path} has no [${section}] section with aws_access_key_id and aws_secret_access_key (or cannot be read); fix the file or ${storageVariable(p.name, 'CREDENTIALS_FILE')}`,
      );
    }
    creds = { accessKeyId: s.aws_access_key_id, secretAccessKey: s.aws_secret_access_key };
  }
  // A rotated key becomes a known secret the moment it is read: scrubbed from logs, results and failures.
  registerSecrets([creds.accessKeyId, creds.secretAccessKey]);
  return creds;
}

/** How long a client keeps a key read from a file before reading the file again. */
const CREDENTIALS_TTL_MS = 60_000;

/** One S3 client per profile, created on first use; each signs with the profile's current access key. */
export class StorageClients {
  private readonly clients = new Map<string, S3Client>();

  constructor(readonly profiles: Record<string, StorageProfile>) {}

  profile(name: string): StorageProfile {
    return storageProfile(this.profiles, name);
  }

  s3(name: string): S3Client {
    const p = this.profile(name);
    let client = this.clients.get(name);
    if (!client) {
      client = new S3Client({
        endpoint: p.endpoint,
        region: p.region,
        forcePathStyle: p.forcePathStyle,
        // An expiration makes the SDK ask again after it, so a rotated key in the file is picked up.
        credentials: async () => ({ ...(await storageCredentials(p)), expiration: new Date(Date.now() + CREDENTIALS_TTL_MS) }),
      });
      this.clients.set(name, client);
    }
    return client;
  }

  destroy(): void {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }
}
