/**
 * Materialize's own list and map types (`integer list`, `map[text=>integer]`; src/repr/src/scalar.rs
 * SqlScalarType::List / Map), which Postgres does not have. mz-local stands each one in by a composite type
 * in `mz_catalog` named as Materialize names the type: a list is `(mz_list_items element[])`, a map
 * `(mz_map_keys text[], mz_map_values value[])` with its keys sorted by their bytes and unique (a Materialize
 * map is a BTreeMap). A composite keeps its identity through every expression, view and record field, and
 * nests (`real list list`, ragged inner lists); the field names mark it (copy/type-mapping.ts toMzScalar),
 * so results, CSV and Parquet print and encode it as Materialize does. The SQL that writes lists and maps
 * is rewritten onto these types by sql/collection-syntax.ts.
 */
import { createHash } from 'node:crypto';
import { LIST_ITEMS_FIELD, MAP_KEYS_FIELD, MAP_VALUES_FIELD } from '../copy/collection-fields';
import { lookupTypes } from '../copy/pg-types';
import { toMzScalar, type MzScalar } from '../copy/type-mapping';
import type { Engine } from '../engine/engine';
import { MzError, SqlState } from '../errors';
import { quoteIdent } from '../sql/lexer';

/** A type as written in SQL: a Postgres type, or a list or map of types. */
export type TypeSpec = { kind: 'base'; text: string } | { kind: 'list'; element: TypeSpec } | { kind: 'map'; key: TypeSpec; value: TypeSpec };

/** A type the engine knows: how its SQL names it, and Materialize's name for it. */
export type ResolvedType =
  | { kind: 'base'; sql: string; name: string }
  | { kind: 'list'; sql: string; name: string; element: ResolvedType }
  | { kind: 'map'; sql: string; name: string; value: ResolvedType };

const SCHEMA = 'mz_catalog';
const UNKNOWN_OID = 705;
/** Type names Materialize accepts that Postgres does not (src/sql/src/names.rs, the built-in type aliases). */
const MATERIALIZE_ALIASES: Record<string, string> = { double: 'double precision', string: 'text' };
/** Postgres truncates longer names (NAMEDATALEN - 1). */
const MAX_NAME_BYTES = 63;

export class CollectionTypes {
  private readonly byOid = new Map<number, MzScalar>();
  private readonly byName = new Map<string, ResolvedType>();

  constructor(private readonly engine: Engine) {}

  /** Materialize's type of a stand-in's type OID (undefined for any other type); used to rewrite results. */
  readonly lookup = (typeOid: number): MzScalar | undefined => this.byOid.get(typeOid);

  /** Whether any list or map type has been defined (else no statement can involve one). */
  get any(): boolean {
    return this.byOid.size > 0;
  }

  /** Registers the stand-ins already in the engine (a data directory). The caller holds the engine. */
  async load(): Promise<void> {
    const rows = await this.engine.query(
      `SELECT t.oid::int8::text FROM pg_type t JOIN pg_attribute a ON a.attrelid = t.typrelid
       WHERE t.typtype = 'c' AND a.attnum = 1 AND a.attname IN ($1, $2)`,
      [LIST_ITEMS_FIELD, MAP_KEYS_FIELD],
    );
    await this.register(rows.map((r) => Number(r[0])));
    // named list and map types (CREATE TYPE ... AS LIST / MAP): domains over stand-ins
    const oids = `{${[...this.byOid.keys()].join(',')}}`;
    for (const [name] of await this.engine.query(`SELECT typname::text FROM pg_type WHERE typtype = 'd' AND typbasetype = ANY($1::oid[])`, [oids])) {
      this.customNames.add(name!);
    }
  }

  /** Names of list and map types created with CREATE TYPE ... AS LIST / MAP. */
  readonly customNames = new Set<string>();

  /** Whether a type as written names one of those. */
  isCustom(name: string): boolean {
    return this.customNames.has(name.replace(/^.*\./, '').replace(/"/g, '').toLowerCase());
  }

  /** `CREATE TYPE name AS LIST (ELEMENT TYPE = T)` / `AS MAP (KEY TYPE = text, VALUE TYPE = T)`: a domain over the stand-in. */
  defineCustom(name: string, type: ResolvedType): string {
    this.customNames.add(name.replace(/"/g, '').toLowerCase());
    return `CREATE DOMAIN ${name} AS ${type.sql}`;
  }

  /**
   * The columns of a table (or view) with their types as written in SQL: Materialize's name for a stand-in
   * (which parses back to it), the engine's otherwise; null when there is no such relation. The caller holds the engine.
   */
  async columns(relation: string): Promise<{ name: string; type: string; standIn: boolean }[] | null> {
    const [[oid]] = await this.engine.query(`SELECT to_regclass($1)::oid::int8::text`, [relation]);
    if (!oid) return null;
    const rows = await this.engine.query(
      `SELECT a.attname::text, a.atttypid::int8::text, t.typname::text, format_type(a.atttypid, a.atttypmod)
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [oid],
    );
    return rows.map(([name, typeOid, typname, formatted]) => {
      const standIn = this.byOid.has(Number(typeOid)) || this.customNames.has(typname!);
      return { name: name!, type: standIn ? typname! : formatted!, standIn };
    });
  }

  /**
   * The type of an expression (`1 + 1`, `a * 2` over `relations`, a FROM clause), as the engine plans it
   * without running it; null if it cannot (e.g. it names columns of an outer query). The caller holds the engine.
   */
  async expressionType(expr: string, relations: string | null, inTransaction: boolean): Promise<ResolvedType | 'unknown' | null> {
    const column = await this.engine.probe(inTransaction, async () => {
      const res = await this.engine.describe(`SELECT (${expr})${relations ? ` FROM ${relations}` : ''}`);
      return res.error ? null : (res.columns?.[0] ?? null);
    });
    if (!column) return null;
    if (column.typeOid === UNKNOWN_OID) return 'unknown';
    const [[typname, formatted]] = await this.engine.query(`SELECT typname::text, format_type($1::oid, $2::int4) FROM pg_type WHERE oid = $1::oid`, [
      String(column.typeOid),
      String(column.typeMod),
    ]);
    return this.byName.get(typname!) ?? this.resolve({ kind: 'base', text: formatted! });
  }

  /** The engine type for a type as written, defining the stand-ins of lists and maps on first use. The caller holds the engine. */
  async resolve(t: TypeSpec): Promise<ResolvedType> {
    switch (t.kind) {
      case 'base': {
        const text = MATERIALIZE_ALIASES[t.text.toLowerCase()] ?? t.text;
        const [[sql, typname, baseName]] = await this.engine.query(
          `SELECT format_type(to_regtype($1), to_regtypemod($1)), t.typname::text, b.typname::text
           FROM (SELECT 1) AS one LEFT JOIN pg_type t ON t.oid = to_regtype($1) LEFT JOIN pg_type b ON b.oid = t.typbasetype`,
          [text],
        );
        if (!sql) throw new MzError(SqlState.UndefinedObject, `type "${t.text}" does not exist`);
        // a stand-in named by its engine name (as pg_typeof prints it), or a named list or map type
        const standIn = this.byName.get(typname!);
        const named = this.customNames.has(typname!) ? this.byName.get(baseName!) : undefined;
        return standIn ?? (named ? { ...named, sql, name: sql } : { kind: 'base', sql, name: sql });
      }
      case 'list': {
        const element = await this.resolve(t.element);
        if (element.kind === 'base' && element.sql.endsWith('[]')) {
          throw new MzError(SqlState.FeatureNotSupported, `mz-local does not support lists of arrays (${element.name} list)`);
        }
        const name = `${element.name} list`;
        const resolved: ResolvedType = { kind: 'list', sql: '', name, element };
        resolved.sql = await this.define(resolved, `${LIST_ITEMS_FIELD} ${element.sql}[]`);
        return resolved;
      }
      case 'map': {
        const key = await this.resolve(t.key);
        // src/sql/src/plan/query.rs scalar_type_from_sql
        if (key.sql !== 'text') throw new MzError(SqlState.InternalError, `map key type must be text, got ${key.name}`);
        const value = await this.resolve(t.value);
        const resolved: ResolvedType = { kind: 'map', sql: '', name: `map[text=>${value.name}]`, value };
        resolved.sql = await this.define(resolved, `${MAP_KEYS_FIELD} text[], ${MAP_VALUES_FIELD} ${value.sql}[]`);
        return resolved;
      }
    }
  }

  /** Creates the stand-in composite if the engine does not have it; its SQL name. */
  private async define(t: ResolvedType, fields: string): Promise<string> {
    const typname = Buffer.byteLength(t.name) <= MAX_NAME_BYTES ? t.name : `mz_collection_${createHash('sha256').update(t.name).digest('hex').slice(0, 24)}`;
    const sql = `${SCHEMA}.${quoteIdent(typname)}`;
    const find = () =>
      this.engine.query(`SELECT t.oid::int8::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typname = $2`, [SCHEMA, typname]);
    // looked up each time: a stand-in created inside a transaction that rolled back is gone again
    let rows = await find();
    if (rows.length === 0) {
      await this.engine.query(`CREATE TYPE ${sql} AS (${fields})`);
      await this.engine.simpleQuery(ESCAPE_FUNCTIONS);
      await this.engine.query(`CREATE FUNCTION ${SCHEMA}.mz_text(v ${sql}) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $mz$ ${textOf(t)} $mz$`);
      await this.engine.query(`CREATE CAST (${sql} AS text) WITH FUNCTION ${SCHEMA}.mz_text(${sql})`);
      rows = await find();
    }
    const oid = Number(rows[0][0]);
    this.byName.set(typname, t);
    if (!this.byOid.has(oid)) await this.register([oid]);
    return sql;
  }

  private async register(oids: number[]): Promise<void> {
    if (oids.length === 0) return;
    const types = await lookupTypes(this.engine, oids.map((typeOid) => ({ typeOid })));
    for (const oid of oids) {
      const scalar = toMzScalar(oid, -1, types);
      if (scalar.kind === 'list' || scalar.kind === 'map') this.byOid.set(oid, scalar);
    }
  }
}

/**
 * `::text` of a list or map prints Materialize's form (format_list / format_map): a cast from each stand-in
 * to text, written in SQL. Elements print as their own `::text` (a nested list or map through its cast,
 * jsonb through mz-local's jsonb cast, numerics reduced), quoted by these escapers where Materialize may quote.
 */
const ESCAPE_FUNCTIONS = ['list', 'map']
  .map(
    (kind) => String.raw`CREATE OR REPLACE FUNCTION ${SCHEMA}.mz_escape_${kind}(s text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $mz$
       SELECT CASE WHEN s = '' OR s = 'NULL' OR s ~ '[{},"${kind === 'map' ? '=>' : ''}\\ \t\n\r\f]' THEN '"' || regexp_replace(s, '(["\\])', '\\\1', 'g') || '"' ELSE s END
     $mz$;`,
  )
  .join('\n');

/** Element types whose text Materialize never quotes inside a list or map (their `Nestable::Yes`). */
const NEVER_QUOTED = /^(smallint|integer|bigint|numeric(\(.*\))?|real|double precision|boolean|date|time without time zone|time(\(\d+\))?|uuid)$/;

function textOf(t: ResolvedType): string {
  const element = (e: string, type: ResolvedType, escape: string) => {
    const text = type.kind === 'base' && type.sql.startsWith('numeric') ? `trim_scale(${e})::text` : `(${e})::text`;
    const quoted = type.kind === 'base' && !NEVER_QUOTED.test(type.sql) ? `${SCHEMA}.mz_escape_${escape}(${text})` : text;
    return `CASE WHEN num_nulls(${e}) = 1 THEN 'NULL' ELSE ${quoted} END`;
  };
  if (t.kind === 'list') {
    return `SELECT '{' || COALESCE(string_agg(${element('v.mz_list_items[n]', t.element, 'list')}, ',' ORDER BY n), '') || '}' FROM generate_subscripts(v.mz_list_items, 1) AS n`;
  }
  if (t.kind === 'map') {
    const entry = `${SCHEMA}.mz_escape_map(v.mz_map_keys[n]) || '=>' || ${element('v.mz_map_values[n]', t.value, 'map')}`;
    return `SELECT '{' || COALESCE(string_agg(${entry}, ',' ORDER BY n), '') || '}' FROM generate_subscripts(v.mz_map_keys, 1) AS n`;
  }
  return `SELECT v::text`;
}
