/** Temporal connection options from config, shared by the worker (NativeConnection) and the client (Connection). */
import type { TemporalConfig } from './config';

export function temporalConnectionOptions(t: TemporalConfig) {
  return {
    address: t.address,
    tls: t.tls ? {} : undefined,
    apiKey: t.apiKey,
  };
}
