/**
 * Executes the Materialize statements mz-local implements itself (the engine runs everything else).
 */
import type { CollectionTypes } from '../catalog/collection-types';
import type { AwsAccess } from '../aws/aws-access';
import { validateAwsConnection } from '../aws/validate-connection';
import { mismatchedObjectType, type Catalog } from '../catalog/catalog';
import type { ActivityLog, StatementSessionInfo } from '../catalog/activity-log';
import { clusterDoesNotExistNotice, type Clusters } from '../catalog/clusters';
import type { Secrets } from '../catalog/secrets';
import { createConnection, dropConnections } from '../catalog/connection-ddl';
import { copyToS3 } from '../copy/copy-to-s3';
import type { Engine, EngineOwner } from '../engine/engine';
import { MzError, SqlState, type ErrorFields } from '../errors';
import { Faults } from '../faults';
import type { Logger } from '../log';
import { quoteIdent } from '../sql/lexer';
import { MATERIALIZE_SESSION_VARS, type Statement } from '../sql/statements';
import { objectNameToString } from '../sql/token-stream';
import { replaceMzNow } from '../sql/as-of';
import { checkAsOfQuery, explainJson, explainText, isolationLevel, planAsOf, type ReadTimestamps } from '../timestamps/read-timestamps';

export interface ServerContext {
  engine: Engine;
  catalog: Catalog;
  /** Materialize's list and map types as the engine stands them in. */
  collections: CollectionTypes;
  clusters: Clusters;
  secrets: Secrets;
  activity: ActivityLog;
  timestamps: ReadTimestamps;
  aws: AwsAccess;
  faults: Faults;
  log: Logger;
  workers: number;
  nextSinkId(): string;
  /** Accepted Materialize system variables (ALTER SYSTEM SET enable_... = ...), stored but without effect. */
  systemVars: Map<string, string>;
}

export interface SessionState {
  owner: EngineOwner;
  vars: Map<string, string>;
  /** Values the connection started with (the startup message's `database`), which RESET returns to. */
  defaults?: Map<string, string>;
  /** Transaction status the client sees ('I' idle, 'T' in a transaction, 'E' failed transaction). */
  txStatus(): 'I' | 'T' | 'E';
  dropConnection(): void;
  /** Takes the engine as this session (its identity applied); it keeps it until its exchange ends idle. */
  takeEngine(signal: AbortSignal): Promise<void>;
  /** Who runs the statement, for the statement log (the cluster is filled in from the session variable). */
  info(): Omit<StatementSessionInfo, 'cluster' | 'clusterId' | 'database' | 'transactionIsolation'>;
}

/** The session's identity and its active cluster, as the statement log records them. */
function statementSessionInfo(ctx: ServerContext, session: SessionState): StatementSessionInfo {
  const cluster = sessionVar(session, 'cluster');
  return {
    ...session.info(),
    database: sessionVar(session, 'database'),
    transactionIsolation: sessionVar(session, 'transaction_isolation'),
    cluster,
    clusterId: ctx.clusters.idOf(cluster),
  };
}

/**
 * Runs `fn` as a logged execution (mz_internal.mz_recent_activity_log): its outcome and the rows it
 * returned are recorded when it ends.
 */
async function logged<T>(
  ctx: ServerContext,
  session: SessionState,
  stmt: Statement,
  statementType: string,
  fn: (info: StatementSessionInfo) => Promise<{ result: T; rows?: number; timestamp?: bigint | null }>,
): Promise<T> {
  const info = statementSessionInfo(ctx, session);
  const id = ctx.activity.begin(info, stmt.sql ?? '', statementType);
  try {
    const r = await fn(info);
    ctx.activity.finish(id, { status: 'success', rows: r.rows, executionTimestamp: r.timestamp });
    return r.result;
  } catch (e) {
    const canceled = e instanceof MzError && e.code === SqlState.QueryCanceled;
    ctx.activity.finish(id, { status: canceled ? 'canceled' : 'error', error: (e as Error).message });
    throw e;
  }
}

export interface ResultColumn {
  name: string;
  typeOid: number;
}

export interface SpecialResult {
  tag: string;
  columns?: ResultColumn[];
  rows?: (string | null)[][];
  notices?: ErrorFields[];
  /** ParameterStatus messages to send before the command completes (a SET of a reported variable). */
  parameterStatuses?: [string, string][];
  /** Ordinary SQL for the engine to answer instead (the session holds the engine already). */
  forward?: string;
}

const TEXT = 25;

/** The columns a statement returns (for Describe), or null when it returns none. */
export function describeSpecial(stmt: Statement): ResultColumn[] | null {
  switch (stmt.kind) {
    case 'show_objects':
      return (
        {
          connections: ['name', 'type', 'comment'],
          'materialized views': ['name', 'cluster', 'comment'],
          tables: ['name', 'comment'],
          views: ['name', 'comment'],
          secrets: ['name', 'comment'],
        }[stmt.objectType]
      ).map((name) => ({ name, typeOid: TEXT }));
    case 'show_var':
      return [{ name: stmt.name, typeOid: TEXT }];
    case 'show_clusters':
      return ['name', 'replicas', 'comment'].map((name) => ({ name, typeOid: TEXT }));
    case 'explain_timestamp':
      return [{ name: 'Timestamp', typeOid: TEXT }];
    default:
      return null;
  }
}

/**
 * The session variables Materialize reports in ParameterStatus messages, at startup and after each SET or RESET of
 * one (src/sql/src/session/vars.rs notify_set: its extensions to Postgres's list, so a client knows where its
 * queries run without asking). search_path and default_cluster_replication_factor are reported at startup only:
 * mz-local leaves SET search_path to its engine and has no replication factor to set.
 */
const REPORTED_SESSION_VARS = ['cluster', 'cluster_replica', 'default_cluster_replication_factor', 'database', 'search_path'];
const REPORTED_DEFAULTS: Record<string, string> = { default_cluster_replication_factor: '1', search_path: 'public' };

/** The reported session variables with their current values, in Materialize's order. */
export function reportedSessionVars(session: Pick<SessionState, 'vars' | 'defaults'>): [string, string][] {
  return REPORTED_SESSION_VARS.map((name) => [name, sessionVar(session, name) ?? REPORTED_DEFAULTS[name]]);
}

/** A Materialize session variable's current value. */
export function sessionVar(session: Pick<SessionState, 'vars' | 'defaults'>, name: string): string {
  return session.vars.get(name) ?? session.defaults?.get(name) ?? MATERIALIZE_SESSION_VARS[name];
}

function requireNoTransaction(session: SessionState, what: string): void {
  if (session.txStatus() !== 'I') throw new MzError(SqlState.ActiveSqlTransaction, `${what} cannot be run inside a transaction block`);
}

export async function executeSpecial(stmt: Statement, ctx: ServerContext, session: SessionState, signal: AbortSignal): Promise<SpecialResult> {
  const owner = session.owner;
  switch (stmt.kind) {
    case 'create_connection': {
      requireNoTransaction(session, 'CREATE CONNECTION');
      const r = await createConnection(stmt, { catalog: ctx.catalog, secrets: ctx.secrets, aws: ctx.aws, owner });
      return { tag: 'CREATE CONNECTION', notices: r.notices };
    }
    case 'drop_connection': {
      requireNoTransaction(session, 'DROP CONNECTION');
      const r = await dropConnections(stmt, { catalog: ctx.catalog, owner });
      return { tag: 'DROP CONNECTION', notices: r.notices };
    }
    case 'validate_connection': {
      const conn = await ctx.catalog.findConnection(stmt.name, owner);
      if (!conn) {
        const other = await ctx.catalog.resolveItem(stmt.name, owner);
        if (other) throw new MzError(SqlState.SystemError, `cannot validate ${other.kind} '${other.fullName}'`);
        throw new MzError(SqlState.UndefinedObject, `unknown catalog item '${objectNameToString(stmt.name)}'`);
      }
      await validateAwsConnection(ctx.aws, conn, ctx.catalog.environmentId, ctx.secrets);
      return { tag: 'VALIDATE CONNECTION' };
    }
    case 'show_objects': {
      const schema = stmt.schema ? stmt.schema.parts[stmt.schema.parts.length - 1] : ((await ctx.catalog.searchPath(owner))[0] ?? 'public');
      const res = await ctx.catalog.showObjects(stmt.objectType, schema, stmt.like, owner);
      return { tag: `SELECT ${res.rows.length}`, columns: res.columns.map((name) => ({ name, typeOid: TEXT })), rows: res.rows };
    }
    case 'create_materialized_view':
      requireNoTransaction(session, 'CREATE MATERIALIZED VIEW');
      return createMaterializedView(stmt, ctx, owner);
    case 'drop_materialized_view':
      requireNoTransaction(session, 'DROP MATERIALIZED VIEW');
      return dropMaterializedViews(stmt, ctx, owner);
    case 'alter_system_set':
      alterSystem(stmt.name, stmt.value, ctx);
      return { tag: 'ALTER SYSTEM' };
    case 'set_session_var': {
      if (stmt.value === null) session.vars.delete(stmt.name);
      else session.vars.set(stmt.name, stmt.value.replace(/^'(.*)'$/, '$1'));
      // src/adapter/src/coord/sequencer/inner.rs sequence_set_variable: a cluster that does not exist is
      // accepted with a notice
      const cluster = sessionVar(session, 'cluster');
      const notices = stmt.name === 'cluster' && stmt.value !== null && !ctx.clusters.idOf(cluster) ? [clusterDoesNotExistNotice(cluster)] : [];
      // src/pgwire/src/protocol.rs (ExecuteResponse::SetVariable): a reported variable's new value follows a SET or RESET
      const parameterStatuses: [string, string][] = REPORTED_SESSION_VARS.includes(stmt.name) ? [[stmt.name, sessionVar(session, stmt.name)]] : [];
      return { tag: stmt.value === null ? 'RESET' : 'SET', notices, parameterStatuses };
    }
    case 'create_secret':
      requireNoTransaction(session, 'CREATE SECRET');
      return { tag: 'CREATE SECRET', notices: await ctx.secrets.create(stmt.name, stmt.ifNotExists, stmt.value, owner) };
    case 'alter_secret':
      requireNoTransaction(session, 'ALTER SECRET');
      return { tag: 'ALTER SECRET', notices: await ctx.secrets.alter(stmt.name, stmt.ifExists, stmt.value, owner) };
    case 'drop_secret':
      requireNoTransaction(session, 'DROP SECRET');
      return { tag: 'DROP SECRET', notices: await ctx.secrets.drop(stmt.names, stmt.ifExists, stmt.cascade, owner) };
    case 'create_cluster':
      requireNoTransaction(session, 'CREATE CLUSTER');
      await ctx.clusters.create(stmt.name, stmt.options, owner);
      return { tag: 'CREATE CLUSTER' };
    case 'drop_cluster': {
      requireNoTransaction(session, 'DROP CLUSTER');
      const notices = await ctx.clusters.drop(stmt.names, stmt.ifExists, owner);
      return { tag: 'DROP CLUSTER', notices };
    }
    case 'show_clusters': {
      const rows = await ctx.engine.withEngine(owner, () =>
        ctx.engine.query(`SELECT name, replicas, comment FROM mz_internal.mz_show_clusters WHERE $1::text IS NULL OR name LIKE $1 ORDER BY name`, [stmt.like ?? null]),
      );
      return { tag: `SELECT ${rows.length}`, columns: describeSpecial(stmt)!, rows };
    }
    case 'show_var': {
      const value = Faults.isKnob(stmt.name) ? ctx.faults.show(stmt.name) : sessionVar(session, stmt.name);
      return { tag: 'SHOW', columns: [{ name: stmt.name, typeOid: TEXT }], rows: [[value]] };
    }
    case 'select_as_of':
    case 'explain_timestamp': {
      // plan_select_inner: the AS OF first, then the query; then the cluster and the timestamp (peek_validate)
      const when = await ctx.engine.withEngine(owner, () => planAsOf(ctx.engine, stmt.asOf), signal);
      checkAsOfQuery(stmt.queryTokens, stmt.asOf);
      const info = statementSessionInfo(ctx, session);
      ctx.clusters.resolve(info.cluster);
      const isolation = isolationLevel(info.transactionIsolation);
      if (stmt.kind === 'explain_timestamp') {
        const d = await ctx.engine.withEngine(
          owner,
          async () => {
            await ctx.timestamps.collectWrites();
            return ctx.timestamps.determine(await ctx.timestamps.sourcesOf(stmt.query), when, isolation);
          },
          signal,
        );
        return { tag: 'SELECT 1', columns: describeSpecial(stmt)!, rows: [[stmt.format === 'json' ? explainJson(d) : explainText(d)]] };
      }
      const { determination } = await ctx.timestamps.readAt(owner, session.takeEngine, stmt.query, when, isolation, signal, async () => undefined, {
        releaseWhileWaiting: session.txStatus() === 'I',
      });
      return { tag: 'SELECT', forward: replaceMzNow(stmt.query, stmt.queryTokens, determination.chosen) };
    }
    case 'copy_to':
      return logged(ctx, session, stmt, 'copy', async (info) => {
        const n = await copyToS3(stmt, {
          engine: ctx.engine,
          owner,
          catalog: ctx.catalog,
          aws: ctx.aws,
          faults: ctx.faults,
          log: ctx.log,
          workers: ctx.workers,
          inTransaction: ctx.engine.holds(owner),
          signal,
          nextSinkId: ctx.nextSinkId,
          dropSession: session.dropConnection,
          beforeSinking: async () => {
            ctx.clusters.resolve(info.cluster);
          },
          timestamps: ctx.timestamps,
          secrets: ctx.secrets,
          isolation: isolationLevel(info.transactionIsolation),
        });
        return { result: { tag: `COPY ${n.rows}` }, rows: n.rows, timestamp: n.timestamp };
      });
  }
}

function alterSystem(name: string, value: string | null, ctx: ServerContext): void {
  if (name === 'all' && value === null) {
    ctx.faults.resetAll();
    ctx.systemVars.clear();
    return;
  }
  if (Faults.isKnob(name)) {
    if (value === null) ctx.faults.reset(name);
    else ctx.faults.set(name, value);
    ctx.log.info(`ALTER SYSTEM ${value === null ? `RESET ${name}` : `SET ${name} = ${value}`}`);
    return;
  }
  // Materialize feature flags and limits are accepted and remembered, without effect here.
  if (/^(enable_|max_|statement_logging|allowed_cluster_replica_sizes|default_)/.test(name)) {
    if (value === null) ctx.systemVars.delete(name);
    else ctx.systemVars.set(name, value);
    return;
  }
  throw new MzError(SqlState.UndefinedObject, `unrecognized configuration parameter "${name}"`);
}

type CreateMv = Extract<Statement, { kind: 'create_materialized_view' }>;
type DropMv = Extract<Statement, { kind: 'drop_materialized_view' }>;

/**
 * CREATE MATERIALIZED VIEW becomes an engine view (always up to date, as Materialize's incrementally
 * maintained materialized views are) registered as materialized in the catalog.
 */
async function createMaterializedView(stmt: CreateMv, ctx: ServerContext, owner: EngineOwner): Promise<SpecialResult> {
  const { schema, item } = await ctx.catalog.schemaForNewItem(stmt.name, owner);
  const existing = await ctx.catalog.itemExists(schema, item, owner);
  if (existing && !stmt.orReplace) {
    if (stmt.ifNotExists) {
      return { tag: 'CREATE MATERIALIZED VIEW', notices: [{ severity: 'NOTICE', code: SqlState.DuplicateObject, message: `${existing} ${quoteIdent(item)} already exists, skipping` }] };
    }
    throw new MzError(SqlState.DuplicateObject, `${existing} ${quoteIdent(`materialize.${schema}.${item}`)} already exists`);
  }
  if (existing && existing !== 'materialized view') {
    throw new MzError(SqlState.SystemError, `cannot replace ${existing} ${quoteIdent(`materialize.${schema}.${item}`)} with a materialized view`);
  }
  const qualified = `${quoteIdent(schema)}.${quoteIdent(item)}`;
  await ctx.engine.withEngine(owner, async () => {
    const res = await ctx.engine.simpleQuery(`CREATE ${stmt.orReplace ? 'OR REPLACE ' : ''}VIEW ${qualified}${stmt.columns ? ' ' + stmt.columns : ''} AS ${stmt.query}`);
    if (res.error) throw new MzError(res.error.code, res.error.message, { detail: res.error.detail, hint: res.error.hint });
    await ctx.catalog.registerMaterializedView(qualified, 'quickstart', owner);
  });
  return { tag: 'CREATE MATERIALIZED VIEW' };
}

async function dropMaterializedViews(stmt: DropMv, ctx: ServerContext, owner: EngineOwner): Promise<SpecialResult> {
  const notices: ErrorFields[] = [];
  const targets: string[] = [];
  for (const name of stmt.names) {
    const item = name.parts[name.parts.length - 1];
    const schemas = name.parts.length >= 2 ? [name.parts[name.parts.length - 2]] : await ctx.catalog.searchPath(owner);
    let found: string | null = null;
    for (const schema of schemas) {
      if ((await ctx.catalog.itemExists(schema, item, owner)) === 'materialized view') {
        found = `${quoteIdent(schema)}.${quoteIdent(item)}`;
        break;
      }
    }
    if (!found) {
      const other = await ctx.catalog.resolveItem(name, owner);
      if (other) throw mismatchedObjectType(other, 'materialized view');
      if (stmt.ifExists) {
        notices.push({ severity: 'NOTICE', code: SqlState.UndefinedObject, message: `materialized view ${quoteIdent(objectNameToString(name))} does not exist, skipping` });
        continue;
      }
      throw new MzError(SqlState.UndefinedObject, `unknown catalog item '${objectNameToString(name)}'`);
    }
    targets.push(found);
  }
  if (targets.length) {
    await ctx.engine.withEngine(owner, async () => {
      const res = await ctx.engine.simpleQuery(`DROP VIEW ${targets.join(', ')}${stmt.cascade ? ' CASCADE' : ''}`);
      if (res.error) throw new MzError(res.error.code, res.error.message, { detail: res.error.detail, hint: res.error.hint });
    });
  }
  return { tag: 'DROP MATERIALIZED VIEW', notices };
}
