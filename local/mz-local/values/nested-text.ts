/**
 * Text forms of nested values — arrays, lists, maps, records — as Materialize prints them
 * (src/repr/src/strconv.rs format_array, format_list, format_map, format_record; src/pgrepr/src/value.rs
 * encode_text). The engine prints each nested value as Postgres does (lists and maps are stored as composite
 * wrappers, catalog/collection-types.ts); these parse the engine's text and print it again with
 * Materialize's element forms (numeric reduced, floats as format_float, compact jsonb) and its quoting:
 * an element whose formatter says it may need escaping (strings, jsonb, timestamps, records, ...) is quoted
 * when it is empty, is `NULL`, or contains a delimiter, brace/parenthesis, quote, backslash or ASCII
 * whitespace (maps also `=` and `>`); numbers, booleans, dates, arrays, lists and maps are never quoted.
 */

import { readQuotedArrayElement } from '../copy/pg-text';

export type ElementRewrite = (s: string) => string;

/** Splits a record literal `(a,"b c",,"x""y")` into its fields (null for an empty unquoted field). */
export function parseRecordLiteral(s: string): (string | null)[] {
  const out: (string | null)[] = [];
  let i = 1;
  const n = s.length - 1; // the closing parenthesis
  if (n <= 1) return s === '()' ? [] : [null];
  for (;;) {
    let v = '';
    let quoted = false;
    while (i < n && s[i] !== ',') {
      if (s[i] === '"') {
        quoted = true;
        i++;
        while (i < n) {
          if (s[i] === '"' && s[i + 1] === '"') {
            v += '"';
            i += 2;
          } else if (s[i] === '"') {
            i++;
            break;
          } else if (s[i] === '\\') {
            v += s[i + 1];
            i += 2;
          } else v += s[i++];
        }
      } else if (s[i] === '\\') {
        v += s[i + 1];
        i += 2;
      } else v += s[i++];
    }
    out.push(!quoted && v === '' ? null : v);
    if (i >= n) break;
    i++; // the comma
  }
  return out;
}

/** Rust's `u8::is_ascii_whitespace` (no vertical tab), which Materialize's escapers use. */
const ASCII_WS = '[ \\t\\n\\f\\r]';
const LIST_SPECIAL = new RegExp(`[{},"\\\\]|${ASCII_WS}`);
const MAP_SPECIAL = new RegExp(`[{},"=>\\\\]|${ASCII_WS}`);
const RECORD_SPECIAL = new RegExp(`[(),"\\\\]|${ASCII_WS}`);

/** ListElementEscaper (arrays and lists): `NULL` is compared case-sensitively, as Materialize does. */
export function escapeListElement(v: string): string {
  if (v === '' || v === 'NULL' || LIST_SPECIAL.test(v)) return '"' + v.replace(/["\\]/g, (c) => '\\' + c) + '"';
  return v;
}

/** MapElementEscaper (keys always, values that may need it). */
export function escapeMapElement(v: string): string {
  if (v === '' || v === 'NULL' || MAP_SPECIAL.test(v)) return '"' + v.replace(/["\\]/g, (c) => '\\' + c) + '"';
  return v;
}

/** RecordElementEscaper: quotes doubled, backslashes escaped. */
export function escapeRecordElement(v: string): string {
  if (v === '' || RECORD_SPECIAL.test(v)) return '"' + v.replace(/["\\]/g, (c) => (c === '"' ? '""' : '\\\\')) + '"';
  return v;
}

/**
 * How one element type prints: `format` turns the engine's text into Materialize's (null: unchanged) and
 * `mayNeedEscaping` is the `Nestable` its format function returns.
 */
export interface ElementFormat {
  format: ElementRewrite | null;
  mayNeedEscaping: boolean;
}

const apply = (f: ElementFormat, s: string) => (f.format ? f.format(s) : s);

/** Rewrites every element of an array literal, keeping its dimensions and bounds (format_array). */
export function formatArrayText(s: string, el: ElementFormat): string {
  let out = '';
  let i = 0;
  if (s[0] === '[') {
    const eq = s.indexOf('=');
    out = s.slice(0, eq + 1);
    i = eq + 1;
  }
  const n = s.length;
  const element = (v: string) => {
    const t = apply(el, v);
    return el.mayNeedEscaping ? escapeListElement(t) : t;
  };
  while (i < n) {
    const c = s[i];
    if (c === '{' || c === '}' || c === ',') {
      out += c;
      i++;
    } else if (c === '"') {
      let v: string;
      [v, i] = readQuotedArrayElement(s, i, n);
      out += element(v);
    } else {
      let j = i;
      while (j < n && s[j] !== ',' && s[j] !== '}') j++;
      const raw = s.slice(i, j);
      out += raw === 'NULL' ? raw : element(raw);
      i = j;
    }
  }
  return out;
}

/** Elements of a one-dimensional array literal as the engine prints it (null for NULL). */
export function arrayElements(s: string): (string | null)[] {
  const out: (string | null)[] = [];
  const n = s.length - 1;
  let i = s.indexOf('{') + 1;
  while (i < n) {
    if (s[i] === ',') {
      i++;
    } else if (s[i] === '"') {
      let v: string;
      [v, i] = readQuotedArrayElement(s, i, n);
      out.push(v);
    } else {
      let j = i;
      while (j < n && s[j] !== ',') j++;
      const raw = s.slice(i, j);
      out.push(raw === 'NULL' ? null : raw);
      i = j;
    }
  }
  return out;
}

/** format_list: `{a,"b c",NULL}`. `items` is the engine's text of the list's element array. */
export function formatListText(items: string, el: ElementFormat): string {
  const parts = arrayElements(items).map((e) => {
    if (e === null) return 'NULL';
    const t = apply(el, e);
    return el.mayNeedEscaping ? escapeListElement(t) : t;
  });
  return '{' + parts.join(',') + '}';
}

/** format_map: `{a=>1,b=>NULL}`, from the engine's texts of the key and value arrays (in key order). */
export function formatMapText(keys: string, values: string, el: ElementFormat): string {
  const ks = arrayElements(keys);
  const vs = arrayElements(values);
  const parts = ks.map((k, i) => {
    const v = vs[i];
    const t = v === null ? 'NULL' : el.mayNeedEscaping ? escapeMapElement(apply(el, v)) : apply(el, v);
    return escapeMapElement(k ?? '') + '=>' + t;
  });
  return '{' + parts.join(',') + '}';
}

/** format_record: `(1,"a b",)`; a NULL field is empty. */
export function formatRecordText(s: string, fields: ElementFormat[]): string {
  const values = parseRecordLiteral(s);
  const parts = values.map((v, k) => {
    if (v === null) return '';
    const f = fields[k] ?? { format: null, mayNeedEscaping: true };
    const t = apply(f, v);
    return f.mayNeedEscaping ? escapeRecordElement(t) : t;
  });
  return '(' + parts.join(',') + ')';
}
