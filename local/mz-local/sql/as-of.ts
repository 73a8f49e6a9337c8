/**
 * `AS OF [AT LEAST] <expr>` on a SELECT (src/sql-parser/src/parser.rs parse_select_statement: the AS OF comes
 * after the whole query, ORDER BY and LIMIT included; `AS OF` is never a table alias), and the rewrites a
 * read at a chosen timestamp needs.
 */
import { MzError, SqlState } from '../errors';
import type { Token } from './lexer';

export interface AsOf {
  /** The timestamp expression's SQL text. */
  expr: string;
  exprTokens: Token[];
  atLeast: boolean;
}

/** Statements that are a SelectStatement in Materialize's grammar. */
export function isSelectStatement(tokens: Token[]): boolean {
  const t = tokens[0];
  return (t?.kind === 'ident' && ['select', 'with', 'values', 'table'].includes(t.value)) || (t?.kind === 'punct' && t.value === '(');
}

/**
 * Splits a SELECT statement into the query and its AS OF clause (null when it has none). Throws
 * Materialize's parser error for an `AS OF` without a timestamp.
 */
export function splitAsOf(text: string, tokens: Token[]): { query: string; queryTokens: Token[]; asOf: AsOf | null } {
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === 'punct' && t.value === '(') depth++;
    else if (t.kind === 'punct' && t.value === ')') depth--;
    else if (depth === 0 && isWord(t, 'as') && isWord(tokens[i + 1], 'of')) {
      let j = i + 2;
      const atLeast = isWord(tokens[j], 'at') && isWord(tokens[j + 1], 'least');
      if (atLeast) j += 2;
      const exprTokens = tokens.slice(j).filter((x) => x.kind !== 'eof');
      if (exprTokens.length === 0) {
        throw new MzError(SqlState.SyntaxError, `Expected a timestamp value after 'AS OF', found EOF`);
      }
      const expr = text.slice(exprTokens[0].start, exprTokens[exprTokens.length - 1].end);
      return { query: text.slice(0, t.start).trimEnd(), queryTokens: tokens.slice(0, i), asOf: { expr, exprTokens, atLeast } };
    }
  }
  return { query: text, queryTokens: tokens.filter((x) => x.kind !== 'eof'), asOf: null };
}

function isWord(t: Token | undefined, w: string): boolean {
  return t?.kind === 'ident' && t.value === w;
}

/**
 * Functions whose value depends on the session or the wall clock rather than on the data (Materialize's
 * unmaterializable functions, src/expr/src/scalar/func/unmaterializable.rs), by name.
 */
const UNMATERIALIZABLE = new Set([
  'now',
  'current_timestamp',
  'localtimestamp',
  'current_time',
  'localtime',
  'current_date',
  'clock_timestamp',
  'statement_timestamp',
  'transaction_timestamp',
  'current_database',
  'current_schema',
  'current_schemas',
  'current_user',
  'current_role',
  'session_user',
  'user',
  'pg_backend_pid',
  'version',
  'mz_version',
  'mz_version_num',
  'mz_environment_id',
  'mz_uptime',
  'current_setting',
]);

/** Whether the tokens call an unmaterializable function (mz_now included unless `exceptMzNow`). */
export function callsUnmaterializable(tokens: Token[], exceptMzNow: boolean): boolean {
  return tokens.some((t, i) => {
    if (t.kind !== 'ident') return false;
    if (t.value === 'mz_now') return !exceptMzNow;
    if (!UNMATERIALIZABLE.has(t.value)) return false;
    // keywords that are functions without parentheses (CURRENT_TIMESTAMP, ...) or calls `f(`
    const next = tokens[i + 1];
    const prev = tokens[i - 1];
    if (prev && prev.kind === 'punct' && prev.value === '.') return false;
    if (['current_timestamp', 'localtimestamp', 'current_time', 'localtime', 'current_date', 'current_user', 'current_role', 'session_user', 'user', 'current_schema'].includes(t.value)) {
      return !(next?.kind === 'op' && next.value === '.');
    }
    return next?.kind === 'punct' && next.value === '(';
  });
}

/** The query with each `mz_now()` call replaced by the chosen timestamp (Materialize evaluates mz_now() to it). */
export function replaceMzNow(query: string, tokens: Token[], ts: bigint): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind === 'ident' && t.value === 'mz_now' && tokens[i + 1]?.value === '(' && tokens[i + 2]?.value === ')') {
      const prev = tokens[i - 1];
      let start = t.start;
      // a qualified call (mz_catalog.mz_now()) is replaced whole
      if (prev?.kind === 'punct' && prev.value === '.' && tokens[i - 2]?.kind === 'ident') start = tokens[i - 2].start;
      out += query.slice(last, start) + `(${ts}::numeric)`;
      last = tokens[i + 2].end;
      i += 2;
    }
  }
  return out + query.slice(last);
}
