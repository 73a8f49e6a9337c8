/**
 * Secrets (CREATE / ALTER / DROP SECRET, SHOW SECRETS, mz_catalog.mz_secrets). As in Materialize, the catalog
 * holds only a secret's id and name; its value lives outside the catalog (src/secrets: the secrets
 * controller) — here in mz-local's memory, and with --data-dir in `mz-local-secrets.json` (mode 0600) next
 * to the engine's files — so no SELECT, catalog view, log line or error shows it.
 *
 * Messages: src/sql/src/plan/error.rs (ItemAlreadyExists, DependentObjectsStillExist), src/sql/src/catalog.rs
 * (UnknownItem); values: src/sql/src/plan/query.rs plan_secret_as (the expression cast to bytea).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Engine, EngineOwner } from '../engine/engine';
import { MzError, SqlState, type ErrorFields } from '../errors';
import type { Logger } from '../log';
import { quoteIdent } from '../sql/lexer';
import type { ObjectName } from '../sql/token-stream';
import { objectNameToString } from '../sql/token-stream';
import { DATABASE_NAME, mismatchedObjectType, type Catalog } from './catalog';

export interface SecretRef {
  id: string;
  schema: string;
  name: string;
  fullName: string;
}

export class Secrets {
  private values = new Map<string, Buffer>();
  private readonly file: string | null;

  constructor(
    private readonly engine: Engine,
    private readonly catalog: Catalog,
    private readonly log: Logger,
    dataDir: string | undefined,
  ) {
    this.file = dataDir ? path.join(dataDir, 'mz-local-secrets.json') : null;
    if (this.file && fs.existsSync(this.file)) {
      const stored = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, string>;
      this.values = new Map(Object.entries(stored).map(([id, b64]) => [id, Buffer.from(b64, 'base64')]));
    }
  }

  private persist(): void {
    if (!this.file) return;
    const obj = Object.fromEntries([...this.values].map(([id, v]) => [id, v.toString('base64')]));
    fs.writeFileSync(this.file, JSON.stringify(obj), { mode: 0o600 });
  }

  /** The secret's value (for the AWS calls of a connection that names it). */
  value(id: string): Buffer {
    const v = this.values.get(id);
    if (!v) throw new MzError(SqlState.InternalError, `secret ${id} has no value`);
    return v;
  }

  /** Resolves a secret by (possibly qualified) name; an item of another kind is Materialize's mismatch error. */
  async resolve(name: ObjectName, owner: EngineOwner): Promise<SecretRef> {
    const found = await this.find(name, owner);
    if (found) return found;
    const other = await this.catalog.resolveItem(name, owner);
    if (other) throw mismatchedObjectType(other, 'secret');
    throw new MzError(SqlState.UndefinedObject, `unknown catalog item '${objectNameToString(name)}'`);
  }

  async find(name: ObjectName, owner: EngineOwner): Promise<SecretRef | null> {
    const parts = name.parts;
    if (parts.length === 3 && parts[0] !== DATABASE_NAME) throw new MzError(SqlState.UndefinedObject, `unknown database '${parts[0]}'`);
    const item = parts[parts.length - 1];
    const schemas = parts.length >= 2 ? [parts[parts.length - 2]] : await this.catalog.searchPath(owner);
    return this.engine.withEngine(owner, async () => {
      for (const schema of schemas) {
        const rows = await this.engine.query(
          `SELECT s.id FROM mz_catalog.mz_secrets s JOIN mz_catalog.mz_schemas n ON n.id = s.schema_id WHERE n.name = $1 AND s.name = $2`,
          [schema, item],
        );
        if (rows.length) return { id: rows[0][0]!, schema, name: item, fullName: `${DATABASE_NAME}.${schema}.${item}` };
      }
      return null;
    });
  }

  /** Evaluates `AS <expr>` to bytes, as plan_secret_as casts it to bytea (the caller holds the engine). */
  private async evaluate(expr: string): Promise<Buffer> {
    const res = await this.engine.simpleQuery(`SELECT encode((${expr})::bytea, 'base64')`);
    if (res.error) throw new MzError(res.error.code, res.error.message, { hint: res.error.hint });
    const row = res.rows[0];
    const len = row.readInt32BE(2);
    if (len < 0) throw new MzError(SqlState.SystemError, 'secret value can not be null');
    return Buffer.from(row.toString('utf8', 6, 6 + len).replace(/\s/g, ''), 'base64');
  }

  async create(name: ObjectName, ifNotExists: boolean, expr: string, owner: EngineOwner): Promise<ErrorFields[]> {
    const { schema, item } = await this.catalog.schemaForNewItem(name, owner);
    const existing = await this.catalog.itemExists(schema, item, owner);
    if (existing) {
      if (ifNotExists) return [{ severity: 'NOTICE', code: SqlState.DuplicateObject, message: `${existing} ${quoteIdent(item)} already exists, skipping` }];
      throw new MzError(SqlState.DuplicateObject, `${existing} ${quoteIdent(`${DATABASE_NAME}.${schema}.${item}`)} already exists`);
    }
    await this.engine.withEngine(owner, async () => {
      const value = await this.evaluate(expr);
      const seq = (await this.engine.query(`SELECT nextval('mz_internal.mz_local_user_id_seq')::text`))[0][0];
      const oid = (await this.engine.query(`SELECT nextval('mz_internal.mz_local_oid_seq')::text`))[0][0];
      const id = `u${seq}`;
      await this.engine.query(
        `INSERT INTO mz_catalog.mz_secrets (id, oid, schema_id, name, owner_id, privileges)
         SELECT $1, $2::oid, id, $4, 'u1', '{u1=U/u1}' FROM mz_catalog.mz_schemas WHERE name = $3`,
        [id, oid, schema, item],
      );
      this.values.set(id, value);
      this.persist();
      this.log.info(`created secret ${schema}.${item} (${id})`);
    });
    return [];
  }

  async alter(name: ObjectName, ifExists: boolean, expr: string, owner: EngineOwner): Promise<ErrorFields[]> {
    const found = await this.find(name, owner);
    if (!found) {
      const other = await this.catalog.resolveItem(name, owner);
      if (other) throw mismatchedObjectType(other, 'secret');
      if (ifExists) return [{ severity: 'NOTICE', code: SqlState.UndefinedObject, message: `secret ${quoteIdent(objectNameToString(name))} does not exist, skipping` }];
      throw new MzError(SqlState.UndefinedObject, `unknown catalog item '${objectNameToString(name)}'`);
    }
    const value = await this.engine.withEngine(owner, () => this.evaluate(expr));
    this.values.set(found.id, value);
    this.persist();
    this.log.info(`altered secret ${found.schema}.${found.name} (${found.id})`);
    return [];
  }

  async drop(names: ObjectName[], ifExists: boolean, cascade: boolean, owner: EngineOwner): Promise<ErrorFields[]> {
    const notices: ErrorFields[] = [];
    const found: SecretRef[] = [];
    for (const name of names) {
      const s = await this.find(name, owner);
      if (!s) {
        const other = await this.catalog.resolveItem(name, owner);
        if (other) throw mismatchedObjectType(other, 'secret');
        if (ifExists) {
          notices.push({ severity: 'NOTICE', code: SqlState.UndefinedObject, message: `secret ${quoteIdent(objectNameToString(name))} does not exist, skipping` });
          continue;
        }
        throw new MzError(SqlState.UndefinedObject, `unknown catalog item '${objectNameToString(name)}'`);
      }
      found.push(s);
    }
    await this.engine.withEngine(owner, async () => {
      for (const s of found) {
        const users = await this.engine.query(
          `SELECT c.id, c.name FROM mz_internal.mz_local_aws_connection_store a JOIN mz_catalog.mz_connections c ON c.id = a.id
           WHERE $1 IN (a.access_key_id_secret_id, a.secret_access_key_secret_id, a.session_token_secret_id) ORDER BY c.id`,
          [s.id],
        );
        if (users.length && !cascade) {
          throw new MzError(
            SqlState.DependentObjectsStillExist,
            `cannot drop secret ${quoteIdent(s.name)}: still depended upon by ${users.map((u) => `connection ${quoteIdent(u[1]!)}`).join(', ')}`,
          );
        }
        for (const [connId] of users) await this.engine.query(`DELETE FROM mz_catalog.mz_connections WHERE id = $1`, [connId]);
        await this.engine.query(`DELETE FROM mz_catalog.mz_secrets WHERE id = $1`, [s.id]);
        this.values.delete(s.id);
      }
    });
    this.persist();
    return notices;
  }
}
