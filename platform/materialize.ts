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
      recordReportedParameters(client);
      await client.connect();
      return client;
    },
    describe(profile = 'default') {
      return describeConnectionUrl(materializeUrl(config, profile));
    },
  };
}

/**
 * The values the server reported in ParameterStatus messages on each client, latest per name. Materialize reports
 * `mz_version` and the session's `cluster` (with `database`, `search_path`, ...) at startup and again after each
 * SET or RESET of one (src/sql/src/session/vars.rs notify_set): reading them here saves a round trip per fact.
 * node-pg passes these messages by but keeps none, so we listen on its connection before it connects.
 */
const reportedByClient = new WeakMap<Client, Map<string, string>>();

function recordReportedParameters(client: Client): void {
  const reported = new Map<string, string>();
  reportedByClient.set(client, reported);
  const connection = (client as unknown as { connection: { on(event: 'parameterStatus', fn: (m: { parameterName: string; parameterValue: string }) => void): void } }).connection;
  connection.on('parameterStatus', (m) => reported.set(m.parameterName, m.parameterValue));
}

/** The value the server last reported for `name` on this client, or undefined (not reported, or a client not made by createMaterializeConnector). */
export function reportedParameter(client: Client, name: string): string | undefined {
  return reportedByClient.get(client)?.get(name);
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
