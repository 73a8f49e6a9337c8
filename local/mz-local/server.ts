/**
 * mz-local: a Materialize stand-in over the Postgres wire protocol, for tests, benchmarks and the demo.
 * See README.md in this directory for what it implements and where it deviates from Materialize.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { AwsAccess } from './aws/aws-access';
import { ActivityLog } from './catalog/activity-log';
import { Catalog } from './catalog/catalog';
import { Clusters } from './catalog/clusters';
import { CollectionTypes } from './catalog/collection-types';
import { Secrets } from './catalog/secrets';
import { ReadTimestamps } from './timestamps/read-timestamps';
import { SAMPLE_MATERIALIZED_VIEW, SAMPLE_TABLE_DDL } from './catalog/sample-data';
import { Engine } from './engine/engine';
import { Faults } from './faults';
import { createLogger, type Logger } from './log';
import { ClientConnection, type AuthConfig } from './protocol/client-connection';
import { Session } from './session/session';
import { executeSpecial, type ServerContext } from './session/special-statements';
import { parseSpecial } from './sql/statements';

export const DEFAULT_PRINCIPAL = 'arn:aws:iam::123456789012:role/MaterializeConnection';

export interface MzLocalOptions {
  host?: string;
  port?: number;
  /** The AWS endpoint (moto); default env AWS_ENDPOINT_URL. */
  awsEndpoint?: string;
  /** Default env AWS_REGION, else us-east-1. */
  region?: string;
  /** The IAM role mz-local assumes from (Materialize's principal). */
  principal?: string;
  /** Default: persisted with --data-dir, else generated. */
  environmentId?: string;
  /** Persist the engine (catalog, connections, tables) here; in memory when unset. */
  dataDir?: string;
  propagationDelaySeconds?: number;
  /** Output batches per COPY (Materialize: workers of the largest replica). Default 2. */
  workers?: number;
  sampleData?: boolean;
  /** Require this password (cleartext by default); trust when unset. */
  password?: string;
  passwordMethod?: 'cleartext' | 'md5';
  logger?: Logger;
  /** Serve TLS with this certificate (PEM, the chain) and key (PEM); plain connections stay allowed. */
  tlsCert?: string;
  tlsKey?: string;
  /** Silence the log (tests). */
  quiet?: boolean;
}

export interface MzLocalServer {
  host: string;
  port: number;
  environmentId: string;
  principal: string;
  close(): Promise<void>;
}

export async function startMzLocal(opts: MzLocalOptions = {}): Promise<MzLocalServer> {
  const log = opts.logger ?? createLogger({ quiet: opts.quiet });
  const host = opts.host ?? '127.0.0.1';
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const awsEndpoint = opts.awsEndpoint ?? process.env.AWS_ENDPOINT_URL ?? undefined;
  const principal = opts.principal ?? DEFAULT_PRINCIPAL;
  const faults = new Faults({
    mz_local_fail_after_files: -1,
    mz_local_batch_delay_ms: 0,
    mz_local_drop_session_mid_copy: false,
    mz_local_propagation_delay_seconds: opts.propagationDelaySeconds ?? 0,
    mz_local_ignore_cancel_requests: false,
    mz_local_batches: 0,
  });

  const aws = new AwsAccess({
    endpoint: awsEndpoint,
    region,
    principal,
    propagationDelaySeconds: () => faults.get('mz_local_propagation_delay_seconds'),
    log,
  });
  // the emulator's first IAM call is slow: make sure of the principal role while the engine starts
  const principalReady = awsEndpoint
    ? aws.ensurePrincipalRole().catch((e) => log.warn(`could not check/create the principal role ${principal}: ${(e as Error).message}`))
    : Promise.resolve();
  let engine: Engine;
  try {
    engine = await Engine.open({ dataDir: opts.dataDir, log });
  } catch (e) {
    await principalReady;
    aws.close();
    throw e;
  }
  const catalog = new Catalog(engine, log);
  let sinkCounter = 0;
  const clusters = new Clusters(engine);
  const collections = new CollectionTypes(engine);
  const ctx: ServerContext = {
    engine,
    catalog,
    collections,
    clusters,
    secrets: new Secrets(engine, catalog, log, opts.dataDir),
    activity: new ActivityLog(engine, log),
    timestamps: new ReadTimestamps(engine, log),
    aws,
    faults,
    log,
    workers: Math.max(1, opts.workers ?? 2),
    nextSinkId: () => `t${++sinkCounter}`,
    systemVars: new Map(),
  };
  const sessions = new Map<number, Session>();
  const sockets = new Set<net.Socket>();
  let server: net.Server | null = null;
  try {
    await catalog.init({ environmentId: opts.environmentId, principal });
    await engine.withEngine({}, () => clusters.load());
    await engine.withEngine({}, () => collections.load());
    await principalReady;
    // watch the roles of existing connections for trust-policy changes
    for (const row of await engine.withEngine({}, () => engine.query(`SELECT assume_role_arn FROM mz_internal.mz_aws_connections WHERE assume_role_arn IS NOT NULL`))) {
      aws.trust.watch(row[0]!);
    }
    if (opts.sampleData) await loadSampleData(ctx);
    // the tables there are now count as written at start (a read AS OF an earlier time is not exact)
    await engine.withEngine({}, async () => {
      await ctx.timestamps.restore();
      await ctx.timestamps.collectWrites();
    });

    const auth: AuthConfig = {
      password: opts.password ?? null,
      method: opts.passwordMethod ?? 'cleartext',
      tls: opts.tlsCert && opts.tlsKey ? tls.createSecureContext({ cert: opts.tlsCert, key: opts.tlsKey }) : null,
    };
    if (!!opts.tlsCert !== !!opts.tlsKey) throw new Error('TLS needs both a certificate and a key (--tls-cert and --tls-key)');
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      new ClientConnection(socket, auth, {
        onCancelRequest: (pid, key) => {
          const s = sessions.get(pid);
          if (faults.get('mz_local_ignore_cancel_requests')) log.info(`cancel request for session ${pid} ignored (mz_local_ignore_cancel_requests)`);
          else if (s && s.secretKey === key) {
            log.info(`cancel request for session ${pid}`);
            s.cancel();
          } else log.info(`ignored cancel request for unknown session ${pid}`);
        },
        onReady: (conn, params) => {
          const s = new Session(ctx, conn, params, (ended) => sessions.delete(ended.processId));
          sessions.set(s.processId, s);
          log.debug(`session ${s.processId} started (user ${params.user}, database ${params.database ?? params.user})`);
          return s;
        },
      }, log);
    });
    const srv = server;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(opts.port ?? 6875, host, () => {
        srv.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    aws.close();
    server?.close();
    await engine.close();
    throw e;
  }
  const port = (server.address() as net.AddressInfo).port;
  log.info(`environment ${catalog.environmentId}, principal ${principal}, AWS endpoint ${awsEndpoint ?? '(AWS)'}, ${ctx.workers} batches per COPY`);

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      const srv = server!;
      await new Promise<void>((resolve) => {
        srv.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      // let sessions stop and roll back before the engine goes
      const deadline = Date.now() + 3000;
      while (sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await ctx.activity.flushed();
      aws.close();
      await engine.close();
      log.info('mz-local stopped');
    })());
  return { host, port, environmentId: catalog.environmentId, principal, close };
}

async function loadSampleData(ctx: ServerContext): Promise<void> {
  const owner = { name: 'sample-data' };
  await ctx.engine.withEngine(owner, async () => {
    const res = await ctx.engine.simpleQuery(SAMPLE_TABLE_DDL);
    if (res.error) throw new Error(`loading the sample data failed: ${res.error.message}`);
  });
  const stmt = parseSpecial(SAMPLE_MATERIALIZED_VIEW)!;
  await executeSpecial(stmt, ctx, {
    owner,
    vars: new Map(),
    txStatus: () => 'I',
    dropConnection: () => undefined,
    takeEngine: (signal) => ctx.engine.acquire(owner, signal),
    info: () => ({ sessionId: '00000000-0000-0000-0000-000000000000', connectedAt: new Date(), user: 'mz_system', applicationName: 'mz-local' }),
  }, new AbortController().signal);
  ctx.log.info('sample data loaded: public.orders (table), public.order_totals (view), public.large_orders (materialized view)');
}

