/**
 * The COPY ... TO 's3://...' statement, built from checked parts only: the object name is quoted part by part,
 * the target and options are escaped literals, and a query source is proven to be one SELECT-like statement
 * whose parentheses, quotes and comments are balanced, so it cannot close the COPY's "(" and append its own
 * TO or WITH. Pure: workflows and activities both use it.
 */
import type { ExportFormat } from './types';
import { quoteLiteral, quoteQualifiedName } from '../sql/quoting';

export interface CopyStatementSpec {
  object?: string;
  query?: string;
  /** s3://bucket/key-without-trailing-slash */
  targetUri: string;
  connectionName: string;
  format: ExportFormat;
  /** Normalized, e.g. '256MB' (see parseMaxFileSize). */
  maxFileSize?: string;
  csvHeader?: boolean;
}

export function buildCopySql(spec: CopyStatementSpec): string {
  if ((spec.object === undefined) === (spec.query === undefined)) throw new Error('exactly one of object and query');
  // The query sits on its own lines so that a trailing "-- comment" in it ends before the closing parenthesis.
  const source = spec.object !== undefined ? quoteQualifiedName(spec.object) : `(\n${normalizeQuery(spec.query!)}\n)`;
  const options = [
    `AWS CONNECTION = ${quoteQualifiedName(spec.connectionName)}`,
    `FORMAT = ${quoteLiteral(spec.format)}`,
  ];
  if (spec.maxFileSize !== undefined) options.push(`MAX FILE SIZE = ${quoteLiteral(spec.maxFileSize)}`);
  if (spec.format === 'csv' && spec.csvHeader) options.push('HEADER = true');
  return `COPY ${source} TO ${quoteLiteral(spec.targetUri)}\nWITH (${options.join(', ')})`;
}

/** The query without surrounding white space and trailing semicolons. */
export function normalizeQuery(query: string): string {
  return query.trim().replace(/[\s;]+$/, '');
}

const LEADING_KEYWORDS = ['select', 'with', 'values', 'table'];

/**
 * Why a query cannot be the source of a COPY, or undefined. Walks it like the SQL lexer would: strings
 * ('...', E'...' with backslash escapes), quoted identifiers, line and nested block comments.
 */
/** Longest SELECT accepted as an export source. */
export const MAX_QUERY_CHARS = 100_000;

export function queryProblem(query: unknown): string | undefined {
  if (typeof query !== 'string') return 'must be a string';
  const q = normalizeQuery(query);
  if (q === '') return 'must not be empty';
  if (q.includes('\0')) return 'contains a NUL byte';
  // The query travels in activity inputs, the manifest and the history: keep it far below Temporal's payload
  // limits. A longer one belongs in a view, exported by name.
  if (q.length > MAX_QUERY_CHARS)
    return `is ${q.length} characters; at most ${MAX_QUERY_CHARS}. Create a view for it and export the view by name`;
  let depth = 0;
  let i = 0;
  const words: { word: string; depth: number }[] = [];
  while (i < q.length) {
    const ch = q[i];
    const next = q[i + 1];
    if (ch === '-' && next === '-') {
      const end = q.indexOf('\n', i);
      i = end === -1 ? q.length : end + 1;
    } else if (ch === '/' && next === '*') {
      let nest = 1;
      i += 2;
      while (i < q.length && nest > 0) {
        if (q[i] === '/' && q[i + 1] === '*') (nest++, (i += 2));
        else if (q[i] === '*' && q[i + 1] === '/') (nest--, (i += 2));
        else i++;
      }
      if (nest > 0) return 'has a /* comment that is never closed';
    } else if (ch === "'") {
      // E'...' (the E a token of its own) takes backslash escapes, so \' does not end it.
      const escapes = /(^|[^\p{L}\p{N}_$])[eE]$/u.test(q.slice(Math.max(0, i - 2), i));
      i = skipString(q, i + 1, escapes);
      if (i < 0) return 'has a string literal that is never closed';
    } else if (ch === '"') {
      const end = q.indexOf('"', i + 1);
      if (end === -1) return 'has a double-quoted identifier that is never closed';
      i = end + 1;
      while (q[i] === '"') {
        const again = q.indexOf('"', i + 1);
        if (again === -1) return 'has a double-quoted identifier that is never closed';
        i = again + 1;
      }
    } else if (ch === '$' && !/\d/.test(next ?? '')) {
      return "uses a dollar-quoted string; write the text as a '...' literal";
    } else if (ch === '(') {
      depth++;
      i++;
    } else if (ch === ')') {
      depth--;
      if (depth < 0) return 'closes a parenthesis it never opened';
      i++;
    } else if (ch === ';') {
      return 'must be a single statement (it contains ";")';
    } else if (/[\p{L}_]/u.test(ch)) {
      let end = i + 1;
      while (end < q.length && /[\p{L}\p{N}_$]/u.test(q[end])) end++;
      words.push({ word: q.slice(i, end).toLowerCase(), depth });
      i = end;
    } else i++;
  }
  if (depth !== 0) return 'opens a parenthesis it never closes';
  const first = words[0]?.word;
  if (!first || !LEADING_KEYWORDS.includes(first)) {
    return `must be a SELECT query (it starts with ${first ? JSON.stringify(first.toUpperCase()) : 'no keyword'})`;
  }
  const top = words.filter((w) => w.depth === 0).map((w) => w.word);
  for (let k = 0; k + 1 < top.length; k++) {
    if (top[k] === 'order' && top[k + 1] === 'by') {
      return 'must not end in ORDER BY: Materialize does not support ORDER BY in COPY ... TO; sort when you read the files';
    }
  }
  return undefined;
}

/** Index after the closing quote of a string starting at `from`, or -1 when unclosed. */
function skipString(q: string, from: number, backslashEscapes: boolean): number {
  let i = from;
  while (i < q.length) {
    if (backslashEscapes && q[i] === '\\') i += 2;
    else if (q[i] === "'" && q[i + 1] === "'") i += 2;
    else if (q[i] === "'") return i + 1;
    else i++;
  }
  return -1;
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
export const MIN_FILE_SIZE = 16 * 1024 ** 2;
export const MAX_FILE_SIZE = 4 * 1024 ** 3;

/** '256MB', '1 gb', '16777216B' -> { bytes, literal: '256MB' }; Materialize's units are 1024-based. */
export function parseMaxFileSize(value: unknown): { bytes: number; literal: string } | { problem: string } {
  const m = typeof value === 'string' ? /^\s*(\d+)\s*(B|KB|MB|GB)\s*$/i.exec(value) : null;
  if (!m) return { problem: `${JSON.stringify(value)} is not a size; write e.g. '256MB' or '1GB' (units B, KB, MB, GB)` };
  const unit = m[2].toUpperCase();
  const bytes = Number(m[1]) * UNITS[unit];
  if (bytes < MIN_FILE_SIZE || bytes > MAX_FILE_SIZE) {
    return { problem: `"${value}" is outside Materialize's range of 16MB to 4GB` };
  }
  return { bytes, literal: `${Number(m[1])}${unit}` };
}
