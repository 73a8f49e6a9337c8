/** A Temporal client whose calls to the server are counted by RPC, to report what an operation costs Temporal. */
import { Client, Connection } from '@temporalio/client';
import { dataConverterFromEnv } from '../platform/payload-codec';

export interface CountedClient {
  client: Client;
  connection: Connection;
  /** Calls by RPC name (e.g. DescribeSchedule) since the last reset. */
  calls: Record<string, number>;
  total(): number;
  reset(): void;
}

export async function countedTemporalClient(address: string, namespace = 'default'): Promise<CountedClient> {
  let calls: Record<string, number> = {};
  const connection = await Connection.connect({ address });
  // Every client call goes through connection.workflowService.<rpc>(); count them there, once per call the
  // code makes (the gRPC retry interceptor underneath may repeat one).
  const service = connection.workflowService;
  const counted = new Proxy(service, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'constructor') return value;
      return (...args: unknown[]) => {
        const name = prop.charAt(0).toUpperCase() + prop.slice(1);
        calls[name] = (calls[name] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  Object.defineProperty(connection, 'workflowService', { value: counted });
  return {
    client: new Client({ connection, namespace, dataConverter: dataConverterFromEnv() }),
    connection,
    get calls() {
      return calls;
    },
    total: () => Object.values(calls).reduce((a, b) => a + b, 0),
    reset: () => void (calls = {}),
  };
}
