/**
 * Connections to Materialize by profile. The worker holds the URLs (with any password); workflows only ever
 * name a profile. Each call gets its own client so a long COPY can be cancelled without touching others.
 */
import { Client } from 'pg';
import { materializeUrl, type Config } from './config';
import { describeConnectionUrl, type ConnectionTarget } from './connection-url';
import { materializeClientConfig } from './materialize-client-config';

export interface MaterializeConnector {
  connect(profile?: string): Promise<Client>;
  /** Where the profile connects: host, port and database only, never the URL (it may hold secrets). */
  describe(profile?: string): ConnectionTarget;
}

export function createMaterializeConnector(config: Config): MaterializeConnector {
  return {
    async connect(profile = 'default') {
      const client = new Client({
        ...materializeClientConfig(materializeUrl(config, profile), config.materializePasswords[profile]),
        application_name: 'mz-s3-export',
        connectionTimeoutMillis: 10_000,
        keepAlive: true,
      });
      // An idle client that loses its server must not crash the worker; the query in flight reports it.
      client.on('error', () => undefined);
      await client.connect();
      return client;
    },
    describe(profile = 'default') {
      return describeConnectionUrl(materializeUrl(config, profile));
    },
  };
}

/** Runs fn with a fresh client and always closes it. */
export async function withMaterialize<T>(
  connector: MaterializeConnector,
  profile: string | undefined,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const client = await connector.connect(profile);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
