/**
 * Temporal connection settings read the way the Temporal CLI reads them, through the SDK's env-config package:
 * a profile from `temporal.toml` (TEMPORAL_CONFIG_FILE, else ~/.config/temporalio/temporal.toml; TEMPORAL_PROFILE,
 * else "default"), overridden by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS,
 * TEMPORAL_TLS_CLIENT_CERT_PATH|DATA, TEMPORAL_TLS_CLIENT_KEY_PATH|DATA, TEMPORAL_TLS_SERVER_CA_CERT_PATH|DATA,
 * TEMPORAL_TLS_SERVER_NAME and TEMPORAL_GRPC_META_*. The worker and the CLI both use it. Alongside the options
 * goes a one-line description of what they amount to (never a secret), for logs and connection errors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';

export interface TemporalConnectionSettings {
  address?: string;
  namespace?: string;
  apiKey?: string;
  tls?: TLSConfig | boolean;
  metadata?: Record<string, string>;
  /** e.g. `profile "prod" of /etc/temporal.toml; TLS with client certificate from TEMPORAL_TLS_CLIENT_CERT_PATH (...)`. */
  description: string;
}

type Env = Record<string, string | undefined>;

/** The config file env-config reads, when it exists (for the description only). */
function configFileInUse(env: Env): string | undefined {
  const file =
    env.TEMPORAL_CONFIG_FILE ??
    (env.XDG_CONFIG_HOME || env.HOME
      ? path.join(env.XDG_CONFIG_HOME || path.join(env.HOME!, '.config'), 'temporalio', 'temporal.toml')
      : undefined);
  return file && fs.existsSync(file) ? file : undefined;
}

const source = (s: { path: string } | { data: string | Uint8Array } | undefined, what: string) =>
  s === undefined ? undefined : 'path' in s ? `${what} from ${s.path}` : `${what} from inline data`;

function describe(profile: ClientConfigProfile, profileName: string | undefined, file: string | undefined): string {
  const parts = [file ? `profile "${profileName ?? 'default'}" of ${file}` : 'environment variables'];
  const tls = profile.tls;
  if (tls?.disabled || (!tls && profile.apiKey === undefined)) parts.push('plain TCP, no TLS');
  else {
    const details = [
      source(tls?.serverCACert, 'server CA') ?? "the system's trusted CAs",
      source(tls?.clientCert, 'client certificate'),
      tls?.serverName && `server name ${tls.serverName}`,
    ].filter(Boolean);
    parts.push(`TLS (${details.join(', ')})`);
  }
  if (profile.apiKey !== undefined) parts.push('API key');
  return parts.join('; ');
}

/** Loads the settings; a profile, file or certificate that cannot be read is an error saying which and why. */
export function loadTemporalSettings(env: Env): TemporalConnectionSettings {
  // An empty variable counts as unset, as `${VAR:-}` in a compose file leaves it.
  const defined = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => Boolean(e[1])));
  const file = configFileInUse(env);
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: defined });
  } catch (e) {
    const where = env.TEMPORAL_CONFIG_FILE ? `TEMPORAL_CONFIG_FILE ${env.TEMPORAL_CONFIG_FILE}` : (file ?? 'the Temporal config file');
    throw new Error(`cannot load Temporal profile${env.TEMPORAL_PROFILE ? ` "${env.TEMPORAL_PROFILE}"` : ''} from ${where}: ${(e as Error).message}`);
  }
  const tls = profile.tls;
  if (tls && !tls.disabled && Boolean(tls.clientCert) !== Boolean(tls.clientKey)) {
    throw new Error(
      tls.clientCert
        ? 'a client certificate is set but not its key: set TEMPORAL_TLS_CLIENT_KEY_PATH (or _DATA, or tls.client_key_path in the profile)'
        : 'a client key is set but not its certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH (or _DATA, or tls.client_cert_path in the profile)',
    );
  }
  let options;
  try {
    options = toClientOptions(profile); // reads the certificate files
  } catch (e) {
    throw new Error(`cannot read a Temporal TLS file: ${(e as Error).message}`);
  }
  const { address, apiKey, tls: tlsOptions, metadata } = options.connectionOptions;
  return {
    address,
    namespace: options.namespace,
    apiKey: typeof apiKey === 'string' ? apiKey : undefined,
    tls: tlsOptions ?? undefined,
    metadata: metadata as Record<string, string> | undefined,
    description: describe(profile, env.TEMPORAL_PROFILE, file),
  };
}

