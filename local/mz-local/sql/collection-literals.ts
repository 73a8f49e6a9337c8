/**
 * The text forms of lists and maps read as Materialize reads them (src/repr/src/strconv.rs parse_list,
 * parse_map): `{1,"a b",NULL,{2,3}}` and `{a=>1,"b c"=>{x=>NULL}}`. Elements are quoted (`"..."` with
 * backslash escapes) or bare (trailing whitespace trimmed, backslash escapes, an unescaped `NULL` in any case
 * is NULL); a nested list or map (`{...}`) is allowed only when the element type is one. A map keeps the last
 * value of a repeated key and its keys in byte order (a BTreeMap).
 */
import { MzError } from '../errors';

/** SQLSTATE of Materialize's ParseError (invalid_text_representation). */
const INVALID_TEXT = '22P02';

class LexBuf {
  pos = 0;
  constructor(readonly s: string) {}
  peek(): string | undefined {
    return this.s[this.pos];
  }
  next(): string | undefined {
    return this.s[this.pos++];
  }
  consume(c: string): boolean {
    if (this.s[this.pos] !== c) return false;
    this.pos++;
    return true;
  }
  skipWhitespace(): void {
    while (/[ \t\n\f\r]/.test(this.s[this.pos] ?? '')) this.pos++;
  }
}

class Detail extends Error {}

function quoted(buf: LexBuf): string {
  buf.next(); // the opening quote
  let out = '';
  for (;;) {
    const c = buf.next();
    if (c === undefined) throw new Detail('unterminated quoted string');
    if (c === '"') return out;
    if (c === '\\') {
      const d = buf.next();
      if (d === undefined) throw new Detail('unterminated quoted string');
      out += d;
    } else out += c;
  }
}

/** A nested `{...}` element, returned as written (braces included). */
function embedded(buf: LexBuf): string {
  const start = buf.pos;
  buf.next();
  let depth = 1;
  let inQuotes = false;
  while (depth > 0) {
    const c = buf.next();
    if (c === undefined) throw new Detail('unterminated embedded element');
    if (c === '\\') buf.next();
    else if (c === '"') inQuotes = !inQuotes;
    else if (c === '{' && !inQuotes) depth++;
    else if (c === '}' && !inQuotes) depth--;
  }
  return buf.s.slice(start, buf.pos);
}

/** An unquoted element; null for NULL. */
function unquoted(buf: LexBuf, special: (c: string) => boolean, endOfLiteral: (c: string) => boolean): string | null {
  let out = '';
  let trimmed = 0;
  let escaped = false;
  for (;;) {
    const c = buf.next();
    if (c === undefined) throw new Detail('unterminated element');
    if (c === '\\') {
      const d = buf.next();
      if (d === undefined) throw new Detail('unterminated element');
      escaped = true;
      out += d;
      trimmed = out.length;
    } else if (endOfLiteral(c)) {
      if (out === '') throw new Detail('malformed literal; missing element');
      buf.pos--;
      break;
    } else if (special(c)) {
      throw new Detail(`malformed literal; must escape special character '${c}'`);
    } else {
      out += c;
      if (!/[ \t\n\f\r]/.test(c)) trimmed = out.length;
    }
  }
  out = out.slice(0, trimmed);
  return !escaped && out.toUpperCase() === 'NULL' ? null : out;
}

function open(buf: LexBuf): void {
  if (!buf.consume('{')) {
    const c = buf.next();
    throw new Detail(`expected '{', found ${c ?? 'empty string'}`);
  }
}

function invalid(type: string, s: string, e: unknown): never {
  if (!(e instanceof Detail)) throw e;
  throw new MzError(INVALID_TEXT, `invalid input syntax for type ${type}: ${e.message}: ${JSON.stringify(s)}`);
}

/** parse_list: the elements (null for NULL; a nested list as its text). */
export function parseListText(s: string, elementIsList: boolean): (string | null)[] {
  try {
    const buf = new LexBuf(s);
    const elems: (string | null)[] = [];
    open(buf);
    for (;;) {
      buf.skipWhitespace();
      const c = buf.next();
      if (c === '}') break;
      if (elems.length === 0) buf.pos--;
      else if (c === undefined) throw new Detail('unexpected end of input');
      else if (c !== ',') throw new Detail(`expected ',' or '}', got '${c}'`);
      buf.skipWhitespace();
      const p = buf.peek();
      if (p === undefined) throw new Detail('unexpected end of input');
      if (p === '"') elems.push(quoted(buf));
      else if (p === '{') {
        if (!elementIsList) throw new Detail("unescaped '{' at beginning of element; perhaps you want a nested list, e.g. '{a}'::text list list");
        elems.push(embedded(buf));
      } else elems.push(unquoted(buf, (x) => '{},\\"'.includes(x), (x) => x === ',' || x === '}'));
    }
    buf.skipWhitespace();
    const rest = buf.next();
    if (rest !== undefined) throw new Detail(`malformed array literal; contains '${rest}' after terminal '}'`);
    return elems;
  } catch (e) {
    invalid('list', s, e);
  }
}

/** parse_map: the entries in key order, the last value of a repeated key kept. */
export function parseMapText(s: string, valueIsMap: boolean): [string, string | null][] {
  try {
    const buf = new LexBuf(s);
    const map = new Map<string, string | null>();
    const special = (x: string) => '{},"=>\\'.includes(x);
    const end = (x: string) => x === ',' || x === '}' || x === '=';
    open(buf);
    for (;;) {
      buf.skipWhitespace();
      const c = buf.next();
      if (c === '}') break;
      if (map.size === 0) buf.pos--;
      else if (c === undefined) throw new Detail('unexpected end of input');
      else if (c !== ',') throw new Detail(`expected ',' or end of input, got '${c}'`);
      buf.skipWhitespace();
      const p = buf.peek();
      if (p === undefined) throw new Detail('unexpected end of input');
      const key = p === '"' ? quoted(buf) : unquoted(buf, special, end);
      if (key === null) throw new Detail('expected key');
      buf.skipWhitespace();
      if (!buf.consume('=') || !buf.consume('>')) throw new Detail('expected =>');
      buf.skipWhitespace();
      const v = buf.peek();
      let value: string | null;
      if (v === undefined) throw new Detail('unexpected end of input');
      if (v === '"') value = quoted(buf);
      else if (v === '{') {
        if (!valueIsMap) throw new Detail("unescaped '{' at beginning of value; perhaps you want a nested map, e.g. '{a=>{a=>1}}'::map[text=>map[text=>int]]");
        value = embedded(buf);
      } else value = unquoted(buf, special, end);
      map.delete(key);
      map.set(key, value);
    }
    return sortedEntries(map);
  } catch (e) {
    invalid('map', s, e);
  }
}

/** Entries in the order of their keys' UTF-8 bytes (Rust's `String` order). */
export function sortedEntries<V>(map: Map<string, V>): [string, V][] {
  return [...map.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}
