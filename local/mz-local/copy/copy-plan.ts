/**
 * Planning a COPY ... TO <expr>: every validation Materialize's planner and sequencer make, in the same
 * order (src/sql/src/plan/statement/dml.rs: plan_copy, plan_copy_to_expr; src/adapter: eval_copy_to_uri),
 * up to the evaluated and parsed S3 target. Nothing is written to S3 here.
 */
import type { AwsConnectionRecord, Catalog } from '../catalog/catalog';
import { describeStatement, type Engine, type EngineOwner } from '../engine/engine';
import { MzError, SqlState, unknownNameError, type ErrorFields } from '../errors';
import type { ColumnDescription } from '../protocol/backend-stream';
import { parseBackendMessages } from '../protocol/backend-stream';
import { quoteIdent, tokenize, type Token } from '../sql/lexer';
import type { CopyToStatement } from '../sql/statements';
import { objectNameToString } from '../sql/token-stream';
import { checkMaxFileSize, csvParams, extractCopyOptions, type CopyFormat } from './copy-options';
import { checkAsOfQuery, planAsOf, type QueryWhen } from '../timestamps/read-timestamps';
import { lookupTypes } from './pg-types';
import { mzDebug, toArrowType, toMzScalar, type ArrowColumnType, type MzScalar } from './type-mapping';

export interface PlannedColumn {
  name: string;
  description: ColumnDescription;
  scalar: MzScalar;
  nullable: boolean;
  /** Set for Parquet. */
  arrow?: ArrowColumnType;
}

export interface CopyPlan {
  query: string;
  /** The query's tokens (for mz_now() at the chosen timestamp); null for a named relation. */
  queryTokens: Token[] | null;
  /** The SELECT's AS OF (Materialize's plan_copy keeps the SelectStatement's as_of: plan_select_inner). */
  when: QueryWhen;
  columns: PlannedColumn[];
  format: CopyFormat;
  connection: AwsConnectionRecord;
  maxFileSize: number;
  bucket: string;
  path: string;
  uri: string;
}

const sysErr = (m: string, extra: { detail?: string; hint?: string } = {}) => new MzError(SqlState.SystemError, m, extra);

export async function planCopyTo(
  stmt: CopyToStatement,
  deps: { engine: Engine; owner: EngineOwner; catalog: Catalog; signal?: AbortSignal; inTransaction?: boolean },
): Promise<CopyPlan> {
  const { engine, owner, catalog } = deps;

  // Name resolution comes first (Materialize resolves every name of a statement before planning it): the
  // relation or the relations the query reads, then the AWS CONNECTION's name.
  const query = relationQuery(stmt);
  const described = query === null ? null : await engine.withEngine(owner, () => describeQuery(engine, query), deps.signal);
  if (described?.error && isResolutionError(described.error)) throw await resolutionError(described.error, stmt, catalog, owner);
  let connection: AwsConnectionRecord | null = null;
  let notAConnection: string | null = null;
  const connectionName = stmt.options.find((o) => o.name === 'AWS CONNECTION')?.value;
  if (connectionName?.kind === 'object') {
    connection = await catalog.findConnection(connectionName.name, owner);
    if (!connection) {
      const item = await catalog.resolveItem(connectionName.name, owner);
      if (!item) throw new MzError(SqlState.UndefinedObject, `unknown catalog item '${objectNameToString(connectionName.name)}'`);
      notAConnection = `connection "${item.fullName}" does not exist`;
    }
  }

  // plan_copy: the options, FORMAT, the relation's form
  const options = extractCopyOptions(stmt.options);
  if (!options.format) throw sysErr('COPY TO <expr> requires a FORMAT option');
  if (stmt.relation.kind === 'named') {
    if (stmt.relation.columns.length > 0) {
      throw sysErr('specifying columns for COPY <table_name> TO commands not yet supported; use COPY (SELECT...) TO ... instead');
    }
  } else {
    if (stmt.relation.isSubscribe) throw sysErr(`COPY TO ${stmt.target} not supported`);
    if (hasTopLevelOrderBy(tokenize(stmt.relation.query))) throw sysErr('ORDER BY is not supported in SELECT query for COPY statements');
  }
  // the SELECT planned (plan_select_inner): its AS OF first, then its columns and their types
  if (!described || !query) throw sysErr(`COPY TO ${stmt.target} not supported`);
  const asOf = stmt.relation.kind === 'query' ? stmt.relation.asOf : null;
  const when = await engine.withEngine(owner, () => planAsOf(engine, asOf), deps.signal);
  if (described.error) throw translateRelationError(described.error, stmt);
  if (stmt.relation.kind === 'query') checkAsOfQuery(stmt.relation.queryTokens, asOf);

  // plan_copy_to_expr
  if (!options.awsConnection) throw sysErr('AWS CONNECTION is required for COPY ... TO <expr>');
  if (!connection) throw new MzError(SqlState.UndefinedObject, notAConnection ?? `unknown catalog item '${objectNameToString(options.awsConnection)}'`);

  const scalars = await engine.withEngine(owner, () => columnScalars(engine, query, described.columns, !!deps.inTransaction), deps.signal);
  const columns: PlannedColumn[] = described.columns.map((d, i) => ({
    name: d.name,
    description: d,
    scalar: scalars[i],
    nullable: !described.notNull[i],
  }));

  let format: CopyFormat;
  switch (options.format) {
    case 'csv':
      format = { kind: 'csv', params: csvParams(options) };
      break;
    case 'parquet': {
      const errs: string[] = [];
      for (const c of columns) {
        c.arrow = toArrowType(c.scalar) ?? undefined;
        if (!c.arrow) errs.push(`${c.name}: ${mzDebug(c.scalar)}`);
      }
      if (errs.length) throw sysErr(`Cannot encode the following columns/types: [${errs.map((e) => JSON.stringify(e)).join(', ')}]`);
      format = { kind: 'parquet' };
      break;
    }
    case 'binary':
      throw sysErr('FORMAT BINARY not yet supported');
    case 'text':
      throw sysErr('FORMAT TEXT not yet supported');
  }

  // the target must be an expression of type text
  const targetSql = `SELECT (${stmt.target})`;
  const targetType = await engine.withEngine(
    owner,
    async () => {
      const res = parseBackendMessages([await execDescribe(engine, targetSql)]);
      if (res.error) throw new MzError(res.error.code, res.error.message, { detail: res.error.detail, hint: res.error.hint });
      const oid = res.columns?.[0]?.typeOid ?? 25;
      if (oid === 25 || oid === 705) return null;
      return (await engine.query('SELECT format_type($1::oid, NULL)', [String(oid)]))[0][0] ?? `oid ${oid}`;
    },
    deps.signal,
  );
  if (targetType) throw sysErr(`COPY TO target must have type text, not type ${targetType}`);

  checkMaxFileSize(options.maxFileSize);

  // sequencing: evaluate the target once (now() allowed, mz_now() not)
  if (mentionsMzNow(stmt.targetTokens)) throw sysErr('cannot call mz_now in this ');
  const value = await engine.withEngine(
    owner,
    async () => {
      const res = await engine.simpleQuery(`${targetSql}::text`);
      if (res.error) throw new MzError(res.error.code, res.error.message, { detail: res.error.detail, hint: res.error.hint });
      const row = res.rows[0];
      const len = row.readInt32BE(2);
      return len < 0 ? null : row.toString('utf8', 6, 6 + len);
    },
    deps.signal,
  );
  if (value === null) throw sysErr('COPY TO target value can not be null');
  const { bucket, path } = parseS3Uri(value);
  const queryTokens = stmt.relation.kind === 'query' ? stmt.relation.queryTokens : null;
  return { query, queryTokens, when, columns, format, connection, maxFileSize: options.maxFileSize, bucket, path, uri: value };
}

/** The SELECT a COPY reads (`SELECT * FROM <name>` for a named relation); null for SUBSCRIBE. */
function relationQuery(stmt: CopyToStatement): string | null {
  if (stmt.relation.kind === 'named') return `SELECT * FROM ${stmt.relation.nameText}`;
  return stmt.relation.isSubscribe ? null : stmt.relation.query;
}

interface DescribedQuery {
  columns: ColumnDescription[];
  /** Per column: read straight from a NOT NULL table column. */
  notNull: boolean[];
  error: ErrorFields | null;
}

/** The query's columns as the engine plans them (the caller holds the engine). */
async function describeQuery(engine: Engine, query: string): Promise<DescribedQuery> {
  const res = parseBackendMessages([await execDescribe(engine, query)]);
  if (res.error) return { columns: [], notNull: [], error: res.error };
  const columns = res.columns ?? [];
  return { columns, notNull: await columnNullability(engine, columns), error: null };
}

/** A missing relation named with a schema that does not exist is Materialize's `unknown schema`. */
async function resolutionError(e: ErrorFields, stmt: CopyToStatement, catalog: Catalog, owner: EngineOwner): Promise<MzError> {
  if (e.code === '42P01') {
    const parts = stmt.relation.kind === 'named' ? stmt.relation.name.parts : (/relation "(.*)" does not exist/.exec(e.message)?.[1].split('.') ?? []);
    const schema = parts.length >= 2 ? parts[parts.length - 2] : null;
    if (schema && !(await catalog.schemaExists(schema, owner))) return new MzError(SqlState.UndefinedObject, `unknown schema '${schema}'`);
  }
  return translateRelationError(e, stmt);
}

/** Engine errors that Materialize raises while resolving names, before planning. */
function isResolutionError(e: ErrorFields): boolean {
  return e.code === '42P01' || e.code === '3F000' || (e.code === '0A000' && /^cross-database references/.test(e.message));
}

async function execDescribe(engine: Engine, sql: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  await engine.execRaw(describeStatement(sql), (c) => chunks.push(Uint8Array.from(c)));
  return Buffer.concat(chunks);
}

/** Columns read straight from a table column declared NOT NULL are non-nullable, as in Materialize. */
async function columnNullability(engine: Engine, cols: ColumnDescription[]): Promise<boolean[]> {
  const out: boolean[] = cols.map(() => false);
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i];
    if (c.tableOid === 0 || c.columnAttr <= 0) continue;
    const r = await engine.query('SELECT attnotnull::text FROM pg_attribute WHERE attrelid = $1::oid AND attnum = $2::int2', [
      String(c.tableOid),
      String(c.columnAttr),
    ]);
    out[i] = r[0]?.[0] === 'true';
  }
  return out;
}

const ANONYMOUS_RECORD_OID = 2249;
const UNKNOWN_OID = 705;
const TEXT_OID = 25;

/**
 * Materialize's types of the query's columns. An anonymous record (`ROW(...)` without a type) is described
 * by the engine only as `record`; its fields are found by describing `SELECT (<column>).*` over the query,
 * which the engine answers by looking through the subquery to the ROW expression. When that fails because a
 * field is an untyped literal (`ROW(1, 'a')`), the fields f1, f2, ... (Materialize's names) are typed one by
 * one with pg_typeof over no rows, an untyped literal being text as in Materialize. A record the engine
 * cannot see into (e.g. returned by a function) stays unsupported. Inside the client's transaction the
 * probes run under a savepoint, so a failing one leaves the transaction as it was.
 */
async function columnScalars(engine: Engine, query: string, cols: ColumnDescription[], inTransaction: boolean): Promise<MzScalar[]> {
  const types = await lookupTypes(engine, cols);
  const aliases = cols.map((_, k) => `c${k + 1}`).join(', ');
  const probe = <T>(fn: () => Promise<T | null>) => engine.probe(inTransaction, fn);
  const describeFields = (expr: string) =>
    probe(async () => {
      const res = parseBackendMessages([await execDescribe(engine, `SELECT (${expr}).* FROM (${query}) AS q(${aliases})`)]);
      return res.error || !res.columns ? null : res.columns.map((c) => ({ name: c.name, typeOid: c.typeOid, typeMod: c.typeMod }));
    });
  const fieldType = (expr: string, field: string) =>
    probe(async () => {
      const rows = await engine.query(
        `SELECT pg_typeof((${expr}).${field})::oid::int8::text FROM (SELECT 1) AS one LEFT JOIN (SELECT * FROM (${query}) AS q0 LIMIT 0) AS q(${aliases}) ON true`,
      );
      return Number(rows[0][0]);
    });
  const recordOf = async (expr: string, depth: number): Promise<MzScalar> => {
    const unsupported: MzScalar = { kind: 'unsupported', debug: 'Record { fields: [..], custom_id: None }' };
    if (depth > 8) return unsupported;
    let fields = await describeFields(expr);
    if (!fields) {
      fields = [];
      for (let k = 1; ; k++) {
        const oid = await fieldType(expr, `f${k}`);
        if (oid === null) break;
        fields.push({ name: `f${k}`, typeOid: oid === UNKNOWN_OID ? TEXT_OID : oid, typeMod: -1 });
      }
      if (fields.length === 0) return unsupported;
    }
    const fieldTypes = await lookupTypes(engine, fields);
    const out = [];
    for (const f of fields) {
      const scalar = f.typeOid === ANONYMOUS_RECORD_OID ? await recordOf(`(${expr}).${quoteIdent(f.name)}`, depth + 1) : toMzScalar(f.typeOid, f.typeMod, fieldTypes);
      out.push({ name: f.name, scalar });
    }
    return { kind: 'record', typeName: 'record', fields: out };
  };
  const out: MzScalar[] = [];
  for (let i = 0; i < cols.length; i++) {
    const d = cols[i];
    out.push(d.typeOid === ANONYMOUS_RECORD_OID ? await recordOf(`q.c${i + 1}`, 0) : toMzScalar(d.typeOid, d.typeMod, types));
  }
  return out;
}


/** The engine's name-resolution errors in Materialize's words; other errors as the engine words them. */
function translateRelationError(e: ErrorFields, stmt: CopyToStatement): MzError {
  if (e.code === '42P01' && stmt.relation.kind === 'named') {
    return new MzError(SqlState.UndefinedObject, `unknown catalog item '${objectNameToString(stmt.relation.name)}'`);
  }
  const named = unknownNameError(e);
  if (named) return named;
  const db = /^cross-database references are not implemented: "?([^".]+)/.exec(e.message);
  if (e.code === '0A000' && db) return new MzError(SqlState.UndefinedObject, `unknown database '${db[1]}'`);
  return new MzError(e.code, e.message, { detail: e.detail, hint: e.hint });
}

/** Whether the query has an ORDER BY at its top level (not inside parentheses). */
export function hasTopLevelOrderBy(tokens: Token[]): boolean {
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === 'punct' && t.value === '(') depth++;
    else if (t.kind === 'punct' && t.value === ')') depth--;
    else if (depth === 0 && t.kind === 'ident' && t.value === 'order' && tokens[i + 1]?.kind === 'ident' && tokens[i + 1].value === 'by') return true;
  }
  return false;
}

function mentionsMzNow(tokens: Token[]): boolean {
  return tokens.some((t) => t.kind === 'ident' && t.value === 'mz_now');
}

/**
 * Parses the evaluated target as eval_copy_to_uri does (src/adapter/src/coord/sequencer.rs: `Uri::from_str` of
 * the http crate, then the scheme must be s3): `could not parse COPY TO target url: <InvalidUri>` for text
 * that is no URI, before any AWS call. A bucket-only URL (`s3://bucket`, `s3://bucket/`) is a target: its
 * path is empty, so the whole bucket is listed by the emptiness check and keys start with `/mz-<id>-`
 * (S3KeyManager with an empty path).
 */
export function parseS3Uri(value: string): { bucket: string; path: string } {
  const bad = (why: string) => sysErr(`could not parse COPY TO target url: ${why}`);
  if (value === '') throw bad('empty string');
  // the http crate accepts only visible ASCII in a URI (no spaces, controls or non-ASCII)
  if (/[^\x21-\x7e]/.test(value) || /["<>\\^`{|}]/.test(value)) throw bad('invalid uri character');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?[^#]*)?(?:#.*)?$/.exec(value);
  if (!m) {
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) throw bad('invalid format');
    if (value.startsWith('/') || /^[A-Za-z0-9.-]+(:\d+)?$/.test(value)) throw sysErr("only 's3://...' urls are supported as COPY TO target");
    throw bad('invalid format');
  }
  const authority = m[2];
  if (!authority) throw bad('invalid format');
  const port = /:(\d*)$/.exec(authority);
  if (port && (port[1] === '' || Number(port[1]) > 65535)) throw bad('invalid port number');
  if (m[1] !== 's3') throw sysErr("only 's3://...' urls are supported as COPY TO target");
  const bucket = authority.replace(/^[^@]*@/, '').replace(/:\d+$/, '');
  const path = m[3].replace(/^\/+/, '').replace(/\/+$/, '');
  return { bucket, path };
}
