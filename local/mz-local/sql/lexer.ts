/**
 * A small SQL tokenizer: enough to split a query string into statements and to parse the Materialize
 * statements mz-local implements itself. Ordinary SQL is never rewritten from tokens; it goes to the engine
 * as the client wrote it.
 */
import { MzError, SqlState } from '../errors';

export type TokenKind = 'ident' | 'qident' | 'string' | 'number' | 'param' | 'op' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** ident: lower-cased; qident: the name as quoted; string: the unescaped value; others: the text. */
  value: string;
  start: number;
  end: number;
}

const identStart = /[A-Za-z_\u0080-\uffff]/;
const identPart = /[A-Za-z0-9_$\u0080-\uffff]/;
const opChars = '+-*/<>=~!@#%^&|`?';

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  const err = (msg: string) => new MzError(SqlState.SyntaxError, msg);
  while (i < n) {
    const c = sql[i];
    // whitespace
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    // comments
    if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && sql[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      if (depth > 0) throw err('unterminated multiline comment');
      continue;
    }
    const start = i;
    // E'...' escape strings, and B'' / X'' / N'' prefixed strings
    if ((c === 'e' || c === 'E') && sql[i + 1] === "'") {
      const [value, end] = readEscapeString(sql, i + 1);
      tokens.push({ kind: 'string', value, start, end });
      i = end;
      continue;
    }
    if ((c === 'b' || c === 'B' || c === 'x' || c === 'X' || c === 'n' || c === 'N') && sql[i + 1] === "'") {
      const [value, end] = readQuoted(sql, i + 1, "'");
      tokens.push({ kind: 'string', value, start, end });
      i = end;
      continue;
    }
    if (c === "'") {
      const [value, end] = readQuoted(sql, i, "'");
      tokens.push({ kind: 'string', value, start, end });
      i = end;
      continue;
    }
    if (c === '"') {
      const [value, end] = readQuoted(sql, i, '"');
      if (value.length === 0) throw err('zero-length delimited identifier');
      tokens.push({ kind: 'qident', value, start, end });
      i = end;
      continue;
    }
    if (c === '$') {
      // $1 parameter or $tag$ dollar-quoted string
      if (/[0-9]/.test(sql[i + 1] ?? '')) {
        let j = i + 1;
        while (j < n && /[0-9]/.test(sql[j])) j++;
        tokens.push({ kind: 'param', value: sql.slice(i, j), start, end: j });
        i = j;
        continue;
      }
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64));
      if (m) {
        const tag = m[0];
        const close = sql.indexOf(tag, i + tag.length);
        if (close < 0) throw err('unterminated dollar-quoted string');
        tokens.push({ kind: 'string', value: sql.slice(i + tag.length, close), start, end: close + tag.length });
        i = close + tag.length;
        continue;
      }
    }
    if (identStart.test(c)) {
      let j = i + 1;
      while (j < n && identPart.test(sql[j])) j++;
      tokens.push({ kind: 'ident', value: sql.slice(i, j).toLowerCase(), start, end: j });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      let j = i;
      while (j < n && /[0-9_]/.test(sql[j])) j++;
      if (sql[j] === '.' && sql[j + 1] !== '.') {
        j++;
        while (j < n && /[0-9_]/.test(sql[j])) j++;
      }
      if ((sql[j] === 'e' || sql[j] === 'E') && /[-+0-9]/.test(sql[j + 1] ?? '')) {
        j += 2;
        while (j < n && /[0-9]/.test(sql[j])) j++;
      }
      tokens.push({ kind: 'number', value: sql.slice(i, j), start, end: j });
      i = j;
      continue;
    }
    if (c === ':' && sql[i + 1] === ':') {
      tokens.push({ kind: 'op', value: '::', start, end: i + 2 });
      i += 2;
      continue;
    }
    if ('(),;[].:'.includes(c)) {
      tokens.push({ kind: 'punct', value: c, start, end: i + 1 });
      i++;
      continue;
    }
    if (opChars.includes(c)) {
      let j = i + 1;
      while (j < n && opChars.includes(sql[j]) && !(sql[j] === '-' && sql[j + 1] === '-') && !(sql[j] === '/' && sql[j + 1] === '*')) j++;
      tokens.push({ kind: 'op', value: sql.slice(i, j), start, end: j });
      i = j;
      continue;
    }
    throw err(`unexpected character ${JSON.stringify(c)}`);
  }
  tokens.push({ kind: 'eof', value: '', start: n, end: n });
  return tokens;
}

function readQuoted(sql: string, i: number, q: string): [string, number] {
  let j = i + 1;
  let out = '';
  for (;;) {
    const k = sql.indexOf(q, j);
    if (k < 0) throw new MzError(SqlState.SyntaxError, q === "'" ? 'unterminated quoted string' : 'unterminated quoted identifier');
    out += sql.slice(j, k);
    if (sql[k + 1] === q) {
      out += q;
      j = k + 2;
      continue;
    }
    return [out, k + 1];
  }
}

function readEscapeString(sql: string, i: number): [string, number] {
  let j = i + 1;
  let out = '';
  const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
  while (j < sql.length) {
    const c = sql[j];
    if (c === "'") {
      if (sql[j + 1] === "'") {
        out += "'";
        j += 2;
        continue;
      }
      return [out, j + 1];
    }
    if (c === '\\') {
      const d = sql[j + 1];
      if (d in simple) {
        out += simple[d];
        j += 2;
      } else if (d === 'x' && /[0-9a-fA-F]/.test(sql[j + 2] ?? '')) {
        const m = /^[0-9a-fA-F]{1,2}/.exec(sql.slice(j + 2))!;
        out += String.fromCharCode(parseInt(m[0], 16));
        j += 2 + m[0].length;
      } else if (/[0-7]/.test(d ?? '')) {
        const m = /^[0-7]{1,3}/.exec(sql.slice(j + 1))!;
        out += String.fromCharCode(parseInt(m[0], 8));
        j += 1 + m[0].length;
      } else if (d === 'u' || d === 'U') {
        const len = d === 'u' ? 4 : 8;
        out += String.fromCodePoint(parseInt(sql.slice(j + 2, j + 2 + len), 16));
        j += 2 + len;
      } else {
        out += d ?? '';
        j += 2;
      }
      continue;
    }
    out += c;
    j++;
  }
  throw new MzError(SqlState.SyntaxError, 'unterminated quoted string');
}

export interface SplitStatement {
  /** The statement's text as written, without the terminating semicolon. */
  text: string;
  tokens: Token[];
}

/** Splits a query string into statements at top-level semicolons; empty statements are dropped. */
export function splitStatements(sql: string): SplitStatement[] {
  const tokens = tokenize(sql);
  const out: SplitStatement[] = [];
  let cur: Token[] = [];
  let stmtStart = -1;
  for (const t of tokens) {
    if (t.kind === 'eof' || (t.kind === 'punct' && t.value === ';')) {
      if (cur.length > 0) {
        const end = cur[cur.length - 1].end;
        out.push({ text: sql.slice(stmtStart, end), tokens: rebase([...cur], stmtStart, end) });
      }
      cur = [];
      stmtStart = -1;
      continue;
    }
    if (stmtStart < 0) stmtStart = t.start;
    cur.push(t);
  }
  return out;
}

function rebase(tokens: Token[], offset: number, end: number): Token[] {
  const shifted = tokens.map((t) => ({ ...t, start: t.start - offset, end: t.end - offset }));
  shifted.push({ kind: 'eof', value: '', start: end - offset, end: end - offset });
  return shifted;
}

/** Quotes an identifier the way Postgres and Materialize print it when needed. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

export function quoteLiteral(value: string): string {
  return "'" + value.replace(/'/g, "''") + "'";
}

/** Materialize's numeric precision: 39 digits (src/repr/src/adt/numeric.rs NUMERIC_DATUM_MAX_PRECISION). */
const NUMERIC_MAX_PRECISION = 39;

/**
 * Materialize keeps only the scale of `numeric(p, s)` (SqlScalarType::Numeric { max_scale }): the precision
 * is not enforced on cast or insert, only its 39-digit maximum. The engine (Postgres) would enforce p, so
 * `numeric(p, s)` / `decimal(p, s)` with p <= 39 are rewritten to `numeric(39, s)` (and `numeric(p)` to
 * `numeric(39)`, scale 0) before the engine sees them. Returns the SQL unchanged when there is nothing to do.
 */
export function widenNumericPrecision(sql: string): string {
  if (!/\b(numeric|decimal|dec)\s*\(/i.test(sql)) return sql;
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch {
    return sql;
  }
  let out = '';
  let last = 0;
  for (let i = 0; i + 3 < tokens.length; i++) {
    const t = tokens[i];
    if (t.kind !== 'ident' || !['numeric', 'decimal', 'dec'].includes(t.value)) continue;
    const open = tokens[i + 1];
    const p = tokens[i + 2];
    if (open.kind !== 'punct' || open.value !== '(' || p.kind !== 'number' || !/^\d+$/.test(p.value)) continue;
    const after = tokens[i + 3];
    if (!((after.kind === 'punct' && (after.value === ')' || after.value === ',')) || after.kind === 'op')) continue;
    if (Number(p.value) > NUMERIC_MAX_PRECISION) continue;
    out += sql.slice(last, p.start) + String(NUMERIC_MAX_PRECISION);
    last = p.end;
  }
  return last === 0 ? sql : out + sql.slice(last);
}
