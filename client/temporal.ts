/** The Temporal client the CLI commands share, configured from the environment. */
import { Client, Connection } from '@temporalio/client';
import { loadConfig, type Config } from '../platform/config';
import { dataConverterFromEnv } from '../platform/payload-codec';
import { explainConnectFailure, temporalConnectionOptions } from '../platform/temporal-connection';

export async function withTemporalClient<T>(fn: (client: Client, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const dataConverter = dataConverterFromEnv();
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal)).catch(async (e: Error) => {
    throw await explainConnectFailure(e, config.temporal);
  });
  try {
    return await fn(new Client({ connection, namespace: config.temporal.namespace, dataConverter }), config);
  } finally {
    await connection.close();
  }
}
