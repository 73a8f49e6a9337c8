/**
 * Materialize's list and map syntax, rewritten onto mz-local's stand-in types (catalog/collection-types.ts)
 * before the engine sees a statement (src/sql-parser/src/parser.rs parse_data_type, parse_list, parse_map):
 *
 * - types `T list [list ...]` and `map[text=>T]` after `::`, after AS, and as a column's type in CREATE or
 *   ALTER statements;
 * - constructors `LIST[e, ...]` (a bare `[...]` inside is a nested list) and `MAP[k => v, ...]` (a bare
 *   `[...]` value is a nested map). The element type comes from a cast of the constructor (`LIST[]::int
 *   list`), the column an INSERT ... VALUES writes, or the elements: literals (integer, bigint or numeric by
 *   size, text for strings and NULLs, booleans), casts (`x::real`) and nested constructors, unified as
 *   Materialize does for numbers (src/sql/src/plan/typeconv.rs); other expressions need a cast;
 * - text literals: `'{1,2}'::int list`, `CAST('{a=>1}' AS map[text=>int])`, and string literals that
 *   INSERT ... VALUES writes to a list or map column, parsed as Materialize parses them
 *   (collection-literals.ts).
 *
 * A map's keys are sorted by their bytes and unique (the last value kept), statically for literal keys and
 * in SQL otherwise; NULL keys are dropped (src/expr/src/scalar/func/variadic.rs map_build).
 */
import type { CollectionTypes, ResolvedType, TypeSpec } from '../catalog/collection-types';
import { MzError, SqlState } from '../errors';
import { parseListText, parseMapText, sortedEntries } from './collection-literals';
import { quoteLiteral, tokenize, type Token } from './lexer';

/** Cheap test before tokenizing: only statements that may involve a list or map are rewritten. */
export function mayInvolveCollections(sql: string, types: CollectionTypes): boolean {
  if (/\blist\b|\bmap\s*[[(]/i.test(sql) || (types.any && /\b(insert|update)\b/i.test(sql))) return true;
  const lower = sql.toLowerCase();
  return [...types.customNames].some((n) => lower.includes(n));
}

/** The statement text with Materialize's list and map syntax rewritten; unchanged if there is none. */
export async function rewriteCollections(sql: string, types: CollectionTypes, inTransaction: boolean): Promise<string> {
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch {
    return sql; // the engine reports the syntax error
  }
  return new CollectionRewriter(sql, tokens, types, inTransaction).run();
}

const isPunct = (t: Token | undefined, v: string) => t?.kind === 'punct' && t.value === v;
const isIdent = (t: Token | undefined, v: string) => t?.kind === 'ident' && t.value === v;
const isOp = (t: Token | undefined, v: string) => t?.kind === 'op' && t.value === v;

/** Words that continue a type name (`double precision`, `timestamp with time zone`, ...). */
const TYPE_CONTINUATIONS: Record<string, string[][]> = {
  double: [['precision']],
  character: [['varying']],
  char: [['varying']],
  bit: [['varying']],
  timestamp: [
    ['with', 'time', 'zone'],
    ['without', 'time', 'zone'],
  ],
  time: [
    ['with', 'time', 'zone'],
    ['without', 'time', 'zone'],
  ],
};

/** Keywords that never start a type (so `SELECT x AS list` is not read as one). */
const NOT_TYPES = new Set(['list', 'select', 'from', 'where', 'null', 'not', 'default', 'primary', 'references', 'check', 'unique', 'constraint']);

/** Materialize's numeric types in the order they unify (src/sql/src/plan/typeconv.rs guess_best_common_type). */
const NUMERIC_LADDER = ['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision'];


/** What the elements of a constructor say about its element type. */
type Shape =
  | { kind: 'type'; type: ResolvedType }
  /** a string literal (any type) or NULL (text when nothing else decides) */
  | { kind: 'untyped' }
  | { kind: 'list'; elements: Shape[] }
  | { kind: 'map'; values: Shape[] };

class CollectionRewriter {
  /** INSERT ... VALUES items to write as a list or map column: start token → [end token, type]. */
  private readonly expected = new Map<number, [number, ResolvedType]>();

  constructor(
    private readonly sql: string,
    private readonly tokens: Token[],
    private readonly types: CollectionTypes,
    private readonly inTransaction: boolean,
  ) {}

  private isCollection(s: TypeSpec): boolean {
    return s.kind !== 'base' || this.types.isCustom(s.text);
  }

  async run(): Promise<string> {
    const eof = this.tokens.length - 1;
    let start = 0;
    for (let i = 0; i <= eof; i++) {
      if (i === eof || isPunct(this.tokens[i], ';')) {
        if (i > start) await this.noteInsertTargets(start, i);
        start = i + 1;
      }
    }
    if (eof === 0) return this.sql;
    const custom = await this.createCustomType(eof);
    if (custom) return custom;
    const out = await this.text(0, eof);
    return this.sql.slice(0, this.tokens[0].start) + out + this.sql.slice(this.tokens[eof - 1].end);
  }

  // ------------------------------------------------------------------------------------------------------
  // token ranges

  private matching(i: number): number {
    const open = this.tokens[i].value;
    const close = open === '(' ? ')' : ']';
    let depth = 0;
    for (let j = i; j < this.tokens.length; j++) {
      const t = this.tokens[j];
      if (t.kind !== 'punct') continue;
      if (t.value === '(' || t.value === '[') depth++;
      else if (t.value === ')' || t.value === ']') {
        depth--;
        if (depth === 0) {
          if (t.value !== close) break;
          return j;
        }
      }
    }
    throw new MzError(SqlState.SyntaxError, `Expected ${close === ')' ? 'right parenthesis' : 'right square bracket'}, found EOF`);
  }

  /** [start, end) ranges of the items between `from` and `to` separated by top-level `sep` tokens. */
  private split(from: number, to: number, isSep: (t: Token) => boolean): [number, number][] {
    const out: [number, number][] = [];
    let start = from;
    for (let j = from; j < to; j++) {
      const t = this.tokens[j];
      if (isPunct(t, '(') || isPunct(t, '[')) j = this.matching(j);
      else if (isSep(t)) {
        out.push([start, j]);
        start = j + 1;
      }
    }
    if (to > start || out.length > 0) out.push([start, to]);
    return out;
  }

  private source(from: number, to: number): string {
    return from >= to ? '' : this.sql.slice(this.tokens[from].start, this.tokens[to - 1].end);
  }

  // ------------------------------------------------------------------------------------------------------
  // types

  /** A type written at token i, and the token after it. */
  private parseType(i: number): { spec: TypeSpec; end: number } | null {
    const t = this.tokens[i];
    let spec: TypeSpec;
    let j: number;
    if (isIdent(t, 'map') && isPunct(this.tokens[i + 1], '[')) {
      const key = this.parseType(i + 2);
      if (!key || !isOp(this.tokens[key.end], '=>')) return null;
      const value = this.parseType(key.end + 1);
      if (!value || !isPunct(this.tokens[value.end], ']')) return null;
      spec = { kind: 'map', key: key.spec, value: value.spec };
      j = value.end + 1;
    } else if ((t.kind === 'ident' && !NOT_TYPES.has(t.value)) || t.kind === 'qident') {
      j = i + 1;
      while (isPunct(this.tokens[j], '.') && ['ident', 'qident'].includes(this.tokens[j + 1]?.kind)) j += 2;
      const continueName = () => {
        for (const words of TYPE_CONTINUATIONS[t.kind === 'ident' ? t.value : ''] ?? []) {
          if (words.every((w, k) => isIdent(this.tokens[j + k], w))) {
            j += words.length;
            return;
          }
        }
      };
      continueName();
      if (isPunct(this.tokens[j], '(')) j = this.matching(j) + 1;
      continueName(); // timestamp(3) with time zone
      while (isPunct(this.tokens[j], '[')) {
        if (isPunct(this.tokens[j + 1], ']')) j += 2;
        else if (this.tokens[j + 1]?.kind === 'number' && isPunct(this.tokens[j + 2], ']')) j += 3;
        else break;
      }
      spec = { kind: 'base', text: this.source(i, j) };
    } else return null;
    while (isIdent(this.tokens[j], 'list')) {
      spec = { kind: 'list', element: spec };
      j++;
    }
    return { spec, end: j };
  }

  /**
   * Materialize's `CREATE TYPE name AS LIST (ELEMENT TYPE = T)` and `CREATE TYPE name AS MAP (KEY TYPE = text,
   * VALUE TYPE = T)` (parser.rs parse_create_type): the statement that defines it, or null for another statement.
   */
  private async createCustomType(end: number): Promise<string | null> {
    const t = this.tokens;
    if (!isIdent(t[0], 'create') || !isIdent(t[1], 'type') || !isIdent(t[3], 'as') || !isPunct(t[5], '(')) return null;
    if (!isIdent(t[4], 'list') && !isIdent(t[4], 'map')) return null;
    const close = this.matching(5);
    const options = new Map<string, TypeSpec>();
    for (const [a, b] of this.split(6, close, (x) => isPunct(x, ','))) {
      const at = isOp(t[a + 2], '=') ? a + 3 : a + 2;
      const parsed = this.parseType(at);
      if (!parsed || parsed.end !== b || !isIdent(t[a + 1], 'type')) throw new MzError(SqlState.SyntaxError, `Expected ELEMENT TYPE, KEY TYPE or VALUE TYPE, found ${this.source(a, b)}`);
      if (parsed.spec.kind !== 'base') {
        throw new MzError(
          SqlState.InternalError,
          `CREATE TYPE ... AS ${t[4].value.toUpperCase()} option ${t[a].value.toUpperCase()} TYPE can only use named data types, but found unnamed data type ${this.source(at, b)}. Use CREATE TYPE to create a named type first`,
        );
      }
      options.set(t[a].value, parsed.spec);
    }
    if (close + 1 !== end) return null;
    const spec: TypeSpec | null =
      t[4].value === 'list'
        ? options.has('element')
          ? { kind: 'list', element: options.get('element')! }
          : null
        : options.has('value')
          ? { kind: 'map', key: options.get('key') ?? { kind: 'base', text: 'text' }, value: options.get('value')! }
          : null;
    if (!spec) throw new MzError(SqlState.InternalError, `${t[4].value === 'list' ? 'ELEMENT TYPE' : 'VALUE TYPE'} option is required`);
    return this.types.defineCustom(this.source(2, 3), await this.types.resolve(spec));
  }

  /** A list or map type cast to after token i (`::T`), if any. */
  private async castAfter(i: number): Promise<ResolvedType | null> {
    if (!isOp(this.tokens[i], '::')) return null;
    const parsed = this.parseType(i + 1);
    return parsed && this.isCollection(parsed.spec) ? this.types.resolve(parsed.spec) : null;
  }

  /** Whether token i is where a column definition's type starts (`(name type`, `, name type`, `ADD COLUMN name type`). */
  private isColumnTypePosition(i: number): boolean {
    const first = this.tokens[0];
    if (!isIdent(first, 'create') && !isIdent(first, 'alter')) return false;
    const name = this.tokens[i - 1];
    const before = this.tokens[i - 2];
    if (!name || (name.kind !== 'ident' && name.kind !== 'qident')) return false;
    return isPunct(before, '(') || isPunct(before, ',') || isIdent(before, 'column') || isIdent(before, 'add');
  }

  // ------------------------------------------------------------------------------------------------------
  // the rewrite

  /** The rewritten text of tokens [from, to). */
  private async text(from: number, to: number): Promise<string> {
    let out = '';
    let last = this.tokens[from]?.start ?? 0;
    const emit = (i: number, end: number, replacement: string) => {
      out += this.sql.slice(last, this.tokens[i].start) + replacement;
      last = this.tokens[end - 1].end;
    };
    for (let i = from; i < to; i++) {
      const t = this.tokens[i];
      const expected = this.expected.get(i);
      if (expected && expected[0] <= to) {
        emit(i, expected[0], await this.typed(i, expected[0], expected[1]));
        i = expected[0] - 1;
        continue;
      }
      const prev = this.tokens[i - 1];
      const typePosition = isOp(prev, '::') || isIdent(prev, 'as') || this.isColumnTypePosition(i);
      if ((isIdent(t, 'list') || isIdent(t, 'map')) && isPunct(this.tokens[i + 1], '[') && !typePosition) {
        const close = this.matching(i + 1);
        const type = await this.castAfter(close + 1);
        emit(i, close + 1, t.value === 'list' ? await this.listOf(i + 2, close, type) : await this.mapOf(i + 2, close, type));
        i = close;
        continue;
      }
      if ((isIdent(t, 'list') || isIdent(t, 'map')) && isPunct(this.tokens[i + 1], '(') && !isOp(this.tokens[i - 1], '::')) {
        throw new MzError(SqlState.FeatureNotSupported, `mz-local does not support ${t.value.toUpperCase()}(<subquery>)`);
      }
      if (t.kind === 'string' && isOp(this.tokens[i + 1], '::')) {
        const parsed = this.parseType(i + 2);
        if (parsed && this.isCollection(parsed.spec)) {
          emit(i, parsed.end, await this.fromText(t.value, await this.types.resolve(parsed.spec)));
          i = parsed.end - 1;
          continue;
        }
      }
      if (isIdent(t, 'cast') && isPunct(this.tokens[i + 1], '(') && this.tokens[i + 2]?.kind === 'string' && isIdent(this.tokens[i + 3], 'as')) {
        const close = this.matching(i + 1);
        const parsed = this.parseType(i + 4);
        if (parsed && parsed.end === close && this.isCollection(parsed.spec)) {
          emit(i, close + 1, `(${await this.fromText(this.tokens[i + 2].value, await this.types.resolve(parsed.spec))})`);
          i = close;
          continue;
        }
      }
      if (typePosition) {
        const parsed = this.parseType(i);
        if (parsed && this.isCollection(parsed.spec)) {
          emit(i, parsed.end, (await this.types.resolve(parsed.spec)).sql);
          i = parsed.end - 1;
        }
      }
    }
    if (to > from) out += this.sql.slice(last, this.tokens[to - 1].end);
    return out;
  }

  /** Tokens [from, to) as a value of type `type` (a string literal, a constructor, or an expression). */
  private async typed(from: number, to: number, type: ResolvedType): Promise<string> {
    const t = this.tokens[from];
    if (type.kind !== 'base') {
      if (to === from + 1 && t.kind === 'string') return this.fromText(t.value, type);
      if ((isIdent(t, 'list') || isIdent(t, 'map')) && isPunct(this.tokens[from + 1], '[') && this.matching(from + 1) === to - 1) {
        return t.value === 'list' ? this.listOf(from + 2, to - 1, type) : this.mapOf(from + 2, to - 1, type);
      }
      if (isPunct(t, '[') && this.matching(from) === to - 1) {
        return type.kind === 'list' ? this.listOf(from + 1, to - 1, type) : this.mapOf(from + 1, to - 1, type);
      }
      if (isIdent(t, 'null') && to === from + 1) return `NULL::${type.sql}`;
    }
    return `(${await this.text(from, to)})`;
  }

  /** `LIST[...]` (elements in tokens [from, to)). */
  private async listOf(from: number, to: number, type: ResolvedType | null): Promise<string> {
    const items = this.split(from, to, (t) => isPunct(t, ','));
    if (!type) type = await this.types.resolve(specOf(await this.inferList(items)));
    if (type.kind !== 'list') throw new MzError(SqlState.InternalError, `LIST could not convert type ${type.name} to list`);
    const element = type.element;
    const values = [];
    for (const [a, b] of items) values.push(await this.typed(a, b, element));
    return `ROW(ARRAY[${values.join(', ')}]::${element.sql}[])::${type.sql}`;
  }

  /** `MAP[k => v, ...]` (entries in tokens [from, to)). */
  private async mapOf(from: number, to: number, type: ResolvedType | null): Promise<string> {
    const entries = this.split(from, to, (t) => isPunct(t, ',')).map(([a, b]) => {
      const [key, value] = this.split(a, b, (t) => isOp(t, '=>'));
      if (!value) throw new MzError(SqlState.SyntaxError, `Expected =>, found ${this.tokens[b]?.value || 'EOF'}`);
      return { key, value };
    });
    if (!type) type = await this.types.resolve(specOf(await this.inferMap(entries.map((e) => e.value))));
    if (type.kind !== 'map') throw new MzError(SqlState.InternalError, `MAP could not convert type ${type.name} to map`);
    const value = type.value;
    if (entries.every(({ key: [a, b] }) => b === a + 1 && (this.tokens[a].kind === 'string' || isIdent(this.tokens[a], 'null')))) {
      // literal keys: sorted and deduplicated here
      const byKey = new Map<string, [number, number]>();
      for (const { key, value: v } of entries) {
        const k = this.tokens[key[0]];
        if (k.kind !== 'string') continue;
        byKey.delete(k.value);
        byKey.set(k.value, v);
      }
      const sorted = sortedEntries(byKey);
      const values = [];
      for (const [, [a, b]] of sorted) values.push(await this.typed(a, b, value));
      return `ROW(ARRAY[${sorted.map(([k]) => quoteLiteral(k)).join(', ')}]::text[], ARRAY[${values.join(', ')}]::${value.sql}[])::${type.sql}`;
    }
    const rows = [];
    for (const [n, { key, value: v }] of entries.entries()) {
      rows.push(`((${await this.text(key[0], key[1])})::text, (${await this.typed(v[0], v[1], value)})::${value.sql}, ${n})`);
    }
    return (
      `(SELECT ROW(COALESCE(array_agg(mz_k ORDER BY mz_k COLLATE "C"), '{}'), COALESCE(array_agg(mz_v ORDER BY mz_k COLLATE "C"), '{}'::${value.sql}[]))::${type.sql}` +
      ` FROM (SELECT DISTINCT ON (mz_k) mz_k, mz_v FROM (VALUES ${rows.join(', ')}) AS mz_e(mz_k, mz_v, mz_n)` +
      ` WHERE mz_k IS NOT NULL ORDER BY mz_k, mz_n DESC) AS mz_d)`
    );
  }

  /** A list or map from its text form. */
  private async fromText(text: string, type: ResolvedType): Promise<string> {
    const element = (s: string | null, t: ResolvedType) => (s === null ? Promise.resolve('NULL') : t.kind === 'base' ? Promise.resolve(quoteLiteral(s)) : this.fromText(s, t));
    if (type.kind === 'list') {
      const items = await Promise.all(parseListText(text, type.element.kind === 'list').map((s) => element(s, type.element)));
      return `ROW(ARRAY[${items.join(', ')}]::${type.element.sql}[])::${type.sql}`;
    }
    if (type.kind === 'map') {
      const entries = parseMapText(text, type.value.kind === 'map');
      const values = await Promise.all(entries.map(([, v]) => element(v, type.value)));
      return `ROW(ARRAY[${entries.map(([k]) => quoteLiteral(k)).join(', ')}]::text[], ARRAY[${values.join(', ')}]::${type.value.sql}[])::${type.sql}`;
    }
    return `${quoteLiteral(text)}::${type.sql}`;
  }

  // ------------------------------------------------------------------------------------------------------
  // element types

  private async shapeOf(from: number, to: number): Promise<Shape> {
    const t = this.tokens[from];
    const single = to === from + 1;
    if (isPunct(t, '[') && this.matching(from) === to - 1) return this.listShape(this.split(from + 1, to - 1, (x) => isPunct(x, ',')));
    if (isIdent(t, 'list') && isPunct(this.tokens[from + 1], '[') && this.matching(from + 1) === to - 1) {
      return this.listShape(this.split(from + 2, to - 1, (x) => isPunct(x, ',')));
    }
    if (isIdent(t, 'map') && isPunct(this.tokens[from + 1], '[') && this.matching(from + 1) === to - 1) {
      const values = this.split(from + 2, to - 1, (x) => isPunct(x, ',')).map(([a, b]) => this.split(a, b, (x) => isOp(x, '=>'))[1] ?? [a, b]);
      return { kind: 'map', values: await Promise.all(values.map(([a, b]) => this.shapeOf(a, b))) };
    }
    if (single && (t.kind === 'string' || isIdent(t, 'null'))) return { kind: 'untyped' };
    if (single && (isIdent(t, 'true') || isIdent(t, 'false'))) return this.base('boolean');
    const number = single ? t : isOp(t, '-') && to === from + 2 ? this.tokens[from + 1] : null;
    if (number?.kind === 'number') return this.base(literalNumberType(number.value));
    // an expression ending in a cast: its type
    for (let j = to - 1; j > from; j--) {
      if (isPunct(this.tokens[j], ')') || isPunct(this.tokens[j], ']')) break;
      if (isOp(this.tokens[j], '::')) {
        const parsed = this.parseType(j + 1);
        if (parsed && parsed.end === to) return { kind: 'type', type: await this.types.resolve(parsed.spec) };
        break;
      }
    }
    if (isIdent(t, 'cast') && isPunct(this.tokens[from + 1], '(') && this.matching(from + 1) === to - 1) {
      const [, as] = this.split(from + 2, to - 1, (x) => isIdent(x, 'as'));
      const parsed = as && this.parseType(as[0]);
      if (parsed && parsed.end === to - 1) return { kind: 'type', type: await this.types.resolve(parsed.spec) };
    }
    const expr = this.source(from, to);
    const from_ = this.enclosingFrom(from);
    const relations = from_ ? await this.text(from_[0], from_[1]) : null;
    const planned = await this.types.expressionType(await this.text(from, to), relations, this.inTransaction);
    if (planned === 'unknown') return { kind: 'untyped' };
    if (planned) return { kind: 'type', type: planned };
    throw new MzError(
      SqlState.FeatureNotSupported,
      `mz-local cannot infer the type of ${expr} in a LIST or MAP constructor; cast it ((${expr})::integer) or the constructor (LIST[...]::integer list)`,
    );
  }

  /**
   * The FROM items of the SELECT whose select list holds token i ([start, end) tokens), so an element naming
   * columns can be typed by describing `SELECT (element) FROM <items>`; null if there is none.
   */
  private enclosingFrom(i: number): [number, number] | null {
    let depth = 0;
    let min = 0;
    let select = -1;
    for (let j = i - 1; j >= 0 && select < 0; j--) {
      const t = this.tokens[j];
      if (isPunct(t, ')') || isPunct(t, ']')) depth++;
      else if (isPunct(t, '(') || isPunct(t, '[')) min = Math.min(min, --depth);
      else if (isIdent(t, 'select') && depth === min) select = j;
    }
    if (select < 0) return null;
    const end = this.tokens.length - 1;
    const clauseEnd = (k: number, stop: (t: Token) => boolean): number => {
      for (let d = 0; k < end; k++) {
        const t = this.tokens[k];
        if (isPunct(t, '(') || isPunct(t, '[')) d++;
        else if (isPunct(t, ')') || isPunct(t, ']')) {
          if (--d < 0) return k;
        } else if (d === 0 && (isPunct(t, ';') || stop(t))) return k;
      }
      return end;
    };
    const fromKeyword = clauseEnd(select + 1, (t) => isIdent(t, 'from'));
    if (!isIdent(this.tokens[fromKeyword], 'from')) return null;
    const stops = ['where', 'group', 'having', 'window', 'order', 'limit', 'offset', 'fetch', 'for', 'union', 'except', 'intersect', 'returning'];
    const last = clauseEnd(fromKeyword + 1, (t) => t.kind === 'ident' && stops.includes(t.value));
    return [fromKeyword + 1, last];
  }

  private async base(name: string): Promise<Shape> {
    return { kind: 'type', type: await this.types.resolve({ kind: 'base', text: name }) };
  }

  private async listShape(items: [number, number][]): Promise<Shape> {
    return { kind: 'list', elements: await Promise.all(items.map(([a, b]) => this.shapeOf(a, b))) };
  }

  private async inferList(items: [number, number][]): Promise<TypeSpec> {
    if (items.length === 0) throw new MzError(SqlState.InternalError, 'cannot determine type of empty list');
    return { kind: 'list', element: unify((await this.listShape(items) as { elements: Shape[] }).elements, 'LIST') };
  }

  private async inferMap(values: [number, number][]): Promise<TypeSpec> {
    if (values.length === 0) throw new MzError(SqlState.InternalError, 'cannot determine type of empty map');
    return { kind: 'map', key: { kind: 'base', text: 'text' }, value: unify(await Promise.all(values.map(([a, b]) => this.shapeOf(a, b))), 'MAP') };
  }

  // ------------------------------------------------------------------------------------------------------
  // INSERT ... VALUES into list and map columns

  private async noteInsertTargets(from: number, to: number): Promise<void> {
    if (!this.types.any) return;
    const update = isIdent(this.tokens[from], 'update');
    if (!update && !(isIdent(this.tokens[from], 'insert') && isIdent(this.tokens[from + 1], 'into'))) return;
    const isName = (k: number) => ['ident', 'qident'].includes(this.tokens[k]?.kind);
    const nameStart = from + (update ? 1 : 2);
    if (!isName(nameStart)) return;
    let j = nameStart + 1;
    while (isPunct(this.tokens[j], '.') && isName(j + 1)) j += 2;
    const relation = this.source(nameStart, j);
    if (update) return this.noteUpdateTargets(relation, j, to);
    if (isIdent(this.tokens[j], 'as')) j += 2;
    let names: string[] | null = null;
    if (isPunct(this.tokens[j], '(')) {
      const close = this.matching(j);
      names = this.split(j + 1, close, (t) => isPunct(t, ',')).map(([a]) => this.tokens[a].value);
      j = close + 1;
    }
    if (!isIdent(this.tokens[j], 'values')) return;
    const columns = await this.standInColumns(relation);
    if (!columns) return;
    const types = names ? names.map((n) => columns.get(n) ?? null) : [...columns.values()];
    for (j++; isPunct(this.tokens[j], '(') && j < to; ) {
      const close = this.matching(j);
      this.split(j + 1, close, (t) => isPunct(t, ',')).forEach(([a, b], k) => {
        const type = types[k];
        if (type && b > a) this.expected.set(a, [b, type]);
      });
      j = close + 1;
      if (!isPunct(this.tokens[j], ',')) break;
      j++;
    }
  }

  /** `UPDATE t [[AS] alias] SET col = value, ...`: values written to list or map columns. */
  private async noteUpdateTargets(relation: string, j: number, to: number): Promise<void> {
    while (j < to && !isIdent(this.tokens[j], 'set')) j++;
    if (j >= to) return;
    const columns = await this.standInColumns(relation);
    if (!columns) return;
    let end = j + 1;
    for (; end < to; end++) {
      const t = this.tokens[end];
      if (isPunct(t, '(') || isPunct(t, '[')) end = this.matching(end);
      else if (['where', 'from', 'returning'].some((w) => isIdent(t, w))) break;
    }
    for (const [a, b] of this.split(j + 1, end, (t) => isPunct(t, ','))) {
      const type = columns.get(this.tokens[a].value);
      if (type && isOp(this.tokens[a + 1], '=') && b > a + 2) this.expected.set(a + 2, [b, type]);
    }
  }

  /** A relation's columns in order, with the type of each list or map column (null for others); null if none is. */
  private async standInColumns(relation: string): Promise<Map<string, ResolvedType | null> | null> {
    const columns = await this.types.columns(relation);
    if (!columns?.some((c) => c.standIn)) return null;
    const out = new Map<string, ResolvedType | null>();
    for (const c of columns) {
      const parsed = c.standIn ? new CollectionRewriter(c.type, tokenize(c.type), this.types, this.inTransaction).parseType(0) : null;
      out.set(c.name, parsed ? await this.types.resolve(parsed.spec) : null);
    }
    return out;
  }
}

function literalNumberType(text: string): string {
  if (!/^[0-9_]+$/.test(text)) return 'numeric';
  const n = BigInt(text.replace(/_/g, ''));
  return n <= 2147483647n ? 'integer' : n <= 9223372036854775807n ? 'bigint' : 'numeric';
}

/** An element type not decided yet (string literals, NULLs): it takes the others' type, else text. */
const UNDECIDED: TypeSpec = { kind: 'base', text: '' };

/** The type of a constructor's elements (Materialize's "LIST types X and Y cannot be matched"). */
function unify(shapes: Shape[], what: 'LIST' | 'MAP'): TypeSpec {
  return decided(unifyShapes(shapes, what));
}

function unifyShapes(shapes: Shape[], what: 'LIST' | 'MAP'): TypeSpec {
  const specOfShape = (s: Shape): TypeSpec => {
    if (s.kind === 'untyped') return UNDECIDED;
    if (s.kind === 'type') return specOf(s.type);
    if (s.kind === 'list') return { kind: 'list', element: unifyShapes(s.elements, 'LIST') };
    return { kind: 'map', key: { kind: 'base', text: 'text' }, value: unifyShapes(s.values, 'MAP') };
  };
  return shapes.map(specOfShape).reduce((a, b) => common(a, b, what), UNDECIDED);
}

/** Undecided element types become text, as Materialize types unknown literals. */
function decided(s: TypeSpec): TypeSpec {
  if (s.kind === 'list') return { kind: 'list', element: decided(s.element) };
  if (s.kind === 'map') return { ...s, value: decided(s.value) };
  return s === UNDECIDED ? { kind: 'base', text: 'text' } : s;
}

function common(a: TypeSpec, b: TypeSpec, what: string): TypeSpec {
  if (a === UNDECIDED) return b;
  if (b === UNDECIDED) return a;
  if (a.kind === 'list' && b.kind === 'list') return { kind: 'list', element: common(a.element, b.element, what) };
  if (a.kind === 'map' && b.kind === 'map') return { kind: 'map', key: a.key, value: common(a.value, b.value, what) };
  if (a.kind === 'base' && b.kind === 'base') {
    if (a.text === b.text) return a;
    const [x, y] = [NUMERIC_LADDER.indexOf(a.text), NUMERIC_LADDER.indexOf(b.text)];
    if (x >= 0 && y >= 0) return x >= y ? a : b;
  }
  throw new MzError(SqlState.InternalError, `${what} types ${nameOf(decided(a))} and ${nameOf(decided(b))} cannot be matched`);
}

function nameOf(s: TypeSpec): string {
  return s.kind === 'base' ? s.text : s.kind === 'list' ? `${nameOf(s.element)} list` : `map[text=>${nameOf(s.value)}]`;
}

function specOf(t: ResolvedType | TypeSpec): TypeSpec {
  if ('sql' in t) {
    if (t.kind === 'base') return { kind: 'base', text: t.sql };
    if (t.kind === 'list') return { kind: 'list', element: specOf(t.element) };
    return { kind: 'map', key: { kind: 'base', text: 'text' }, value: specOf(t.value) };
  }
  return t;
}
