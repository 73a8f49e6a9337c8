/**
 * Connections and other Materialize catalog state, stored in the engine (so it persists with --data-dir).
 * Name resolution follows Materialize: unqualified names resolve through the session's search path,
 * qualified names may name the schema and the database (`materialize`).
 */
import { randomUUID } from 'node:crypto';
import type { Engine, EngineOwner } from '../engine/engine';
import { MzError, SqlState } from '../errors';
import type { Logger } from '../log';
import { quoteIdent } from '../sql/lexer';
import type { ObjectName } from '../sql/token-stream';
import { CATALOG_DDL } from './catalog-schema';

export const DATABASE_NAME = 'materialize';
const SEARCH_PATH = 'public, mz_catalog, pg_catalog';

/** What an AWS connection is created with (its options, where it lives). */
interface AwsConnectionFields {
  schema: string;
  name: string;
  assumeRoleArn: string | null;
  assumeRoleSessionName: string | null;
  region: string | null;
  endpoint: string | null;
  /** ACCESS KEY ID as a string, or the id of the secret holding it. */
  accessKeyId: string | null;
  accessKeyIdSecretId: string | null;
  secretAccessKeySecretId: string | null;
  sessionToken: string | null;
  sessionTokenSecretId: string | null;
}

export interface AwsConnectionRecord extends AwsConnectionFields {
  id: string;
  externalId: string | null;
  principal: string | null;
}

export interface NewAwsConnection extends AwsConnectionFields {
  createSql: string;
  /** create_sql with string literals replaced by '<REDACTED>' (Materialize's redacted_create_sql). */
  redactedCreateSql: string;
}

export interface ResolvedItem {
  schema: string;
  item: string;
  kind: string;
  fullName: string;
  minimalName: string;
}

/** Materialize's error for an item of another kind than the statement expects (PlanError::MismatchedObjectType). */
export function mismatchedObjectType(found: ResolvedItem, expected: string): MzError {
  const article = (kind: string) => (kind === 'index' ? 'an' : 'a');
  return new MzError(SqlState.SystemError, `${found.minimalName} is ${article(found.kind)} ${found.kind} not ${article(expected)} ${expected}`);
}

export class Catalog {
  /** The owner token under which the catalog uses the engine when no session engine hold applies. */
  private readonly owner: EngineOwner = { name: 'catalog' };
  environmentId = '';
  principal = '';

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {}

  /** Creates the catalog relations and settles the environment id (flag > persisted > generated). */
  async init(opts: { environmentId?: string; principal: string }): Promise<void> {
    await this.engine.withEngine(this.owner, async () => {
      const res = await this.engine.simpleQuery(CATALOG_DDL);
      if (res.error) throw new Error(`initializing the catalog failed: ${res.error.message}`);
      const persisted = (await this.engine.query(`SELECT value FROM mz_internal.mz_local_meta WHERE key = 'environment_id'`))[0]?.[0];
      let env = opts.environmentId ?? persisted ?? randomUUID();
      if (opts.environmentId && persisted && persisted !== opts.environmentId) {
        this.log.warn(`--environment-id ${opts.environmentId} replaces the persisted environment id ${persisted}; external IDs change`);
      }
      env = env.toLowerCase();
      await this.setMeta('environment_id', env);
      await this.setMeta('principal', opts.principal);
      this.environmentId = env;
      this.principal = opts.principal;
      // Materialize's catalog schema is always searchable: keep mz_catalog on the search path, ahead of
      // pg_catalog so its version(), current_database() and jsonb_pretty() are Materialize's.
      const db = quoteIdent((await this.engine.query('SELECT pg_catalog.current_database()'))[0][0]!);
      const sp = await this.engine.simpleQuery(`ALTER DATABASE ${db} SET search_path = ${SEARCH_PATH}; SET search_path = ${SEARCH_PATH}`);
      if (sp.error) throw new Error(`setting the search path failed: ${sp.error.message}`);
    });
  }

  private async setMeta(key: string, value: string): Promise<void> {
    await this.engine.query(
      `INSERT INTO mz_internal.mz_local_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [key, value],
    );
  }

  /** Runs catalog work under `owner` (the session, so a session holding the engine is not blocked). */
  private run<T>(owner: EngineOwner | undefined, fn: () => Promise<T>): Promise<T> {
    return this.engine.withEngine(owner ?? this.owner, fn);
  }

  /** The session's search path (schemas that exist), as the engine reports it. */
  async searchPath(owner?: EngineOwner): Promise<string[]> {
    return this.run(owner, async () => parseTextArray((await this.engine.query('SELECT current_schemas(false)::text'))[0][0] ?? '{}'));
  }

  /** Resolves the schema a new item named `name` goes into; errors like Materialize for unknown ones. */
  async schemaForNewItem(name: ObjectName, owner?: EngineOwner): Promise<{ schema: string; item: string }> {
    const parts = name.parts;
    const item = parts[parts.length - 1];
    if (parts.length === 3 && parts[0] !== DATABASE_NAME) throw new MzError(SqlState.UndefinedObject, `unknown database '${parts[0]}'`);
    if (parts.length >= 2) {
      const schema = parts[parts.length - 2];
      if (!(await this.schemaExists(schema, owner))) throw new MzError(SqlState.UndefinedObject, `unknown schema '${schema}'`);
      return { schema, item };
    }
    const path = await this.searchPath(owner);
    const schema = path.find((s) => s !== 'mz_catalog' && s !== 'pg_catalog' && s !== 'mz_internal');
    if (!schema) throw new MzError(SqlState.UndefinedObject, 'no valid schema selected');
    return { schema, item };
  }

  async schemaExists(schema: string, owner?: EngineOwner): Promise<boolean> {
    return this.run(owner, async () => (await this.engine.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).length > 0);
  }

  /** Looks up a connection by (possibly qualified) name; null when there is none. */
  async findConnection(name: ObjectName, owner?: EngineOwner): Promise<AwsConnectionRecord | null> {
    const parts = name.parts;
    if (parts.length === 3 && parts[0] !== DATABASE_NAME) throw new MzError(SqlState.UndefinedObject, `unknown database '${parts[0]}'`);
    const item = parts[parts.length - 1];
    const schemas = parts.length >= 2 ? [parts[parts.length - 2]] : await this.searchPath(owner);
    return this.run(owner, async () => {
      for (const schema of schemas) {
        const rows = await this.engine.query(
          `SELECT c.id, s.name, c.name, a.assume_role_arn, a.assume_role_session_name, a.region, a.endpoint,
                  a.access_key_id, a.external_id, a.principal, a.access_key_id_secret_id, a.secret_access_key_secret_id,
                  a.session_token, a.session_token_secret_id
           FROM mz_catalog.mz_connections c
           JOIN mz_catalog.mz_schemas s ON s.id = c.schema_id
           LEFT JOIN mz_internal.mz_aws_connections a ON a.id = c.id
           WHERE s.name = $1 AND c.name = $2`,
          [schema, item],
        );
        if (rows.length > 0) {
          const r = rows[0];
          return {
            id: r[0]!,
            schema: r[1]!,
            name: r[2]!,
            assumeRoleArn: r[3],
            assumeRoleSessionName: r[4],
            region: r[5],
            endpoint: r[6],
            accessKeyId: r[7],
            externalId: r[8],
            principal: r[9],
            accessKeyIdSecretId: r[10],
            secretAccessKeySecretId: r[11],
            sessionToken: r[12],
            sessionTokenSecretId: r[13],
          };
        }
      }
      return null;
    });
  }

  /** Whether any relation or connection is named `schema.item` (Materialize items share one namespace). */
  async itemExists(schema: string, item: string, owner?: EngineOwner): Promise<string | null> {
    return this.run(owner, async () => {
      const conn = await this.engine.query(
        `SELECT 1 FROM mz_catalog.mz_connections c JOIN mz_catalog.mz_schemas s ON s.id = c.schema_id WHERE s.name = $1 AND c.name = $2`,
        [schema, item],
      );
      if (conn.length > 0) return 'connection';
      const secret = await this.engine.query(
        `SELECT 1 FROM mz_catalog.mz_secrets c JOIN mz_catalog.mz_schemas s ON s.id = c.schema_id WHERE s.name = $1 AND c.name = $2`,
        [schema, item],
      );
      if (secret.length > 0) return 'secret';
      const rel = await this.engine.query(
        `SELECT CASE WHEN mv.view_oid IS NOT NULL THEN 'materialized view' WHEN c.relkind = 'v' THEN 'view'
                     WHEN c.relkind IN ('r', 'p') THEN 'table' WHEN c.relkind = 'i' THEN 'index' ELSE 'item' END
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN mz_internal.mz_local_materialized_views mv ON mv.view_oid = c.oid
         WHERE n.nspname = $1 AND c.relname = $2`,
        [schema, item],
      );
      return rel.length > 0 ? rel[0][0] : null;
    });
  }

  /**
   * The item of any kind a (possibly qualified) name resolves to, or null: its schema, name, kind
   * ('connection', 'table', 'view', 'materialized view', ...), full name (`materialize.<schema>.<item>`)
   * and minimal qualification (what Materialize's errors print: the name alone when it resolves unqualified).
   */
  async resolveItem(name: ObjectName, owner?: EngineOwner): Promise<ResolvedItem | null> {
    const parts = name.parts;
    if (parts.length === 3 && parts[0] !== DATABASE_NAME) throw new MzError(SqlState.UndefinedObject, `unknown database '${parts[0]}'`);
    const item = parts[parts.length - 1];
    const path = await this.searchPath(owner);
    const schemas = parts.length >= 2 ? [parts[parts.length - 2]] : path;
    for (const schema of schemas) {
      const kind = await this.itemExists(schema, item, owner);
      if (!kind) continue;
      let unqualified: string | null = null;
      for (const s of path) if (!unqualified && (await this.itemExists(s, item, owner))) unqualified = s;
      return { schema, item, kind, fullName: `${DATABASE_NAME}.${schema}.${item}`, minimalName: unqualified === schema ? item : `${schema}.${item}` };
    }
    return null;
  }

  /** Inserts a new AWS connection; returns its new id (`u<N>`, never reused). */
  async createAwsConnection(c: NewAwsConnection, owner?: EngineOwner): Promise<string> {
    return this.run(owner, async () => {
      const [[seq], [oid]] = [
        (await this.engine.query(`SELECT nextval('mz_internal.mz_local_user_id_seq')::text`))[0],
        (await this.engine.query(`SELECT nextval('mz_internal.mz_local_oid_seq')::text`))[0],
      ];
      const id = `u${seq}`;
      const schemaId = (await this.engine.query(`SELECT id FROM mz_catalog.mz_schemas WHERE name = $1`, [c.schema]))[0][0]!;
      try {
        // one statement, so both rows appear together
        await this.engine.query(
          `WITH c AS (
             INSERT INTO mz_catalog.mz_connections (id, oid, schema_id, name, type, owner_id, privileges, create_sql, redacted_create_sql)
             VALUES ($1, $2::oid, $3, $4, 'aws', 'u1', '{u1=U/u1}', $5, $10) RETURNING id)
           INSERT INTO mz_internal.mz_local_aws_connection_store (id, endpoint, region, assume_role_arn, assume_role_session_name,
             access_key_id, access_key_id_secret_id, secret_access_key_secret_id, session_token, session_token_secret_id)
           SELECT id, $6, $7, $8, $9, $11, $12, $13, $14, $15 FROM c`,
          [
            id,
            oid!,
            schemaId,
            c.name,
            c.createSql,
            c.endpoint,
            c.region,
            c.assumeRoleArn,
            c.assumeRoleSessionName,
            c.redactedCreateSql,
            c.accessKeyId,
            c.accessKeyIdSecretId,
            c.secretAccessKeySecretId,
            c.sessionToken,
            c.sessionTokenSecretId,
          ],
        );
      } catch (e) {
        throw new MzError(SqlState.InternalError, `creating the connection failed: ${(e as Error).message}`);
      }
      this.log.info(`created connection ${c.schema}.${c.name} (${id})`);
      return id;
    });
  }

  async dropConnection(id: string, owner?: EngineOwner): Promise<void> {
    await this.run(owner, async () => {
      await this.engine.query(`DELETE FROM mz_catalog.mz_connections WHERE id = $1`, [id]);
    });
    this.log.info(`dropped connection ${id}`);
  }

  /** Records a view created by CREATE MATERIALIZED VIEW. */
  async registerMaterializedView(qualifiedName: string, cluster: string, owner?: EngineOwner): Promise<void> {
    await this.run(owner, async () => {
      await this.engine.query(
        `INSERT INTO mz_internal.mz_local_materialized_views (view_oid, cluster) VALUES ($1::regclass::oid, $2)
         ON CONFLICT (view_oid) DO UPDATE SET cluster = EXCLUDED.cluster`,
        [qualifiedName, cluster],
      );
    });
  }

  /** Rows for SHOW CONNECTIONS / TABLES / VIEWS / MATERIALIZED VIEWS. */
  async showObjects(
    objectType: 'connections' | 'materialized views' | 'tables' | 'views' | 'secrets',
    schema: string,
    like: string | undefined,
    owner?: EngineOwner,
  ): Promise<{ columns: string[]; rows: (string | null)[][] }> {
    const rel = {
      connections: { table: 'mz_catalog.mz_connections', cols: ['name', 'type', 'comment'], sel: `o.name, o.type, ''` },
      'materialized views': { table: 'mz_catalog.mz_materialized_views', cols: ['name', 'cluster', 'comment'], sel: `o.name, 'quickstart', ''` },
      tables: { table: 'mz_catalog.mz_tables', cols: ['name', 'comment'], sel: `o.name, ''` },
      views: { table: 'mz_catalog.mz_views', cols: ['name', 'comment'], sel: `o.name, ''` },
      secrets: { table: 'mz_catalog.mz_secrets', cols: ['name', 'comment'], sel: `o.name, ''` },
    }[objectType];
    return this.run(owner, async () => {
      if (!(await this.engine.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).length) {
        throw new MzError(SqlState.UndefinedObject, `unknown schema '${schema}'`);
      }
      const rows = await this.engine.query(
        `SELECT ${rel.sel} FROM ${rel.table} o JOIN mz_catalog.mz_schemas s ON s.id = o.schema_id
         WHERE s.name = $1 AND ($2::text IS NULL OR o.name LIKE $2) ORDER BY o.name`,
        [schema, like ?? null],
      );
      return { columns: rel.cols, rows };
    });
  }
}

/** Parses a one-dimensional Postgres text array of simple values (e.g. current_schemas output). */
export function parseTextArray(text: string): string[] {
  const inner = text.replace(/^\{|\}$/g, '');
  if (!inner) return [];
  const out: string[] = [];
  let i = 0;
  while (i < inner.length) {
    if (inner[i] === '"') {
      let j = i + 1;
      let s = '';
      while (j < inner.length && inner[j] !== '"') {
        if (inner[j] === '\\') j++;
        s += inner[j++];
      }
      out.push(s);
      i = j + 2;
    } else {
      const j = inner.indexOf(',', i);
      const end = j < 0 ? inner.length : j;
      out.push(inner.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}
