/**
 * Materialize's SQL lexer, ported rule for rule so that what we check is what Materialize will run.
 *
 * Source: MaterializeInc/materialize src/sql-lexer/src/lexer.rs (fn lex and its helpers; read at
 * commit 892cf626bc4317d237f566c2defaa5a6556d9e5b) and the cursor it uses, src/ore/src/lex.rs (LexBuf).
 * Where Materialize differs from PostgreSQL, this follows Materialize: `x'…'` hex strings only (no `b'…'`,
 * `n'…'`, `u&'…'`), E-strings without octal or `\x` escapes, a dollar-quote tag of any characters but `$`,
 * `=>` as its own token, and adjacent string literals joined only across white space holding a newline (so an
 * E-string continued on the next line keeps its backslash escapes). Error messages are Materialize's.
 *
 * Offsets are UTF-16 indexes into the JS string (Materialize reports bytes). Unquoted words are returned
 * lower-cased as kind 'word'; Materialize further splits them into keywords and identifiers, which no check
 * here needs. Pure: workflows and activities both use it.
 */

export type TokenKind =
  | 'word' // unquoted keyword or identifier, lower-cased
  | 'ident' // "quoted identifier", as written between the quotes with "" undoubled
  | 'string' // '…', E'…', $tag$…$tag$ (the value, escapes resolved)
  | 'hexString' // X'…'
  | 'number'
  | 'parameter' // $1
  | 'op' // any other operator; != is normalized to <>
  | 'star'
  | 'eq'
  | 'arrow' // =>
  | 'lparen'
  | 'rparen'
  | 'lbracket'
  | 'rbracket'
  | 'dot'
  | 'comma'
  | 'colon'
  | 'doubleColon'
  | 'semicolon';

export interface Token {
  kind: TokenKind;
  value: string;
  /** Index of the token's first character in the input. */
  start: number;
  /** Index after its last character. */
  end: number;
  /** For dollar-quoted strings: the tag between the dollars ('' for $$). */
  dollarTag?: string;
  /** For '…', E'…' and X'…': true when the literal continues on a later line ('a'<newline>'b' is 'ab'). */
  continued?: boolean;
}

export class SqlLexError extends Error {
  override name = 'SqlLexError';
  constructor(
    message: string,
    /** Index in the input the error is associated with. */
    readonly position: number,
  ) {
    super(message);
  }
}

/** Materialize's MAX_IDENTIFIER_LENGTH, in UTF-8 bytes. */
export const MAX_IDENTIFIER_BYTES = 255;

const OP_CHARS = '+-*/<>=~!@#%^&|`?';
/** Operator characters that let a multi-character operator end in + or - (lex_op). */
const NONSTANDARD_OP_CHARS = '~!@#%^&|`?';

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
/** Rust's char::is_ascii_whitespace: space, \t, \n, \x0C, \r (not \x0B, not Unicode spaces). */
const isAsciiWhitespace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';
/** lex's ident start: A-Z a-z _ and every non-ASCII character. */
const isIdentStart = (c: string) => (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c === '_' || c >= '\u0080';
const isIdentPart = (c: string) => isIdentStart(c) || isDigit(c) || c === '$';

function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}

/**
 * Lexes `sql` exactly as Materialize's `lex` does: the token list, or a SqlLexError where Materialize's lexer
 * would fail. Additionally rejects what Materialize can never receive over the pg protocol: NUL characters and
 * lone UTF-16 surrogates (they would arrive as something else).
 */
export function lex(sql: string): Token[] {
  const nul = sql.indexOf('\0');
  if (nul >= 0) throw new SqlLexError('null character in input', nul);
  const lone = /\p{Cs}/u.exec(sql);
  if (lone) throw new SqlLexError('unpaired UTF-16 surrogate in input', lone.index);
  return new Lexer(sql).run();
}

class Lexer {
  private pos = 0;
  private readonly tokens: Token[] = [];
  /** Set by toAdjacentString while the current literal is read. */
  private continued = false;

  constructor(private readonly s: string) {}

  private peek(): string | undefined {
    return this.pos < this.s.length ? this.s[this.pos] : undefined;
  }

  private next(): string | undefined {
    return this.pos < this.s.length ? this.s[this.pos++] : undefined;
  }

  private consume(c: string): boolean {
    if (this.s[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  private takeWhile(pred: (c: string) => boolean): string {
    const from = this.pos;
    while (this.pos < this.s.length && pred(this.s[this.pos])) this.pos++;
    return this.s.slice(from, this.pos);
  }

  run(): Token[] {
    const s = this.s;
    while (this.pos < s.length) {
      const start = this.pos;
      const c = this.next()!;
      let kind: TokenKind;
      let value = c;
      let dollarTag: string | undefined;
      this.continued = false;
      if (isAsciiWhitespace(c)) continue;
      if (c === '-' && this.consume('-')) {
        this.takeWhile((ch) => ch !== '\n'); // lex_line_comment: ends at \n only, not at \r
        continue;
      }
      if (c === '/' && this.consume('*')) {
        this.multilineComment(start);
        continue;
      }
      if (c === "'") [kind, value] = ['string', this.plainString()];
      else if ((c === 'x' || c === 'X') && this.consume("'")) [kind, value] = ['hexString', this.plainString()];
      else if ((c === 'e' || c === 'E') && this.consume("'")) [kind, value] = ['string', this.extendedString()];
      else if (isIdentStart(c)) [kind, value] = ['word', this.word(start)];
      else if (c === '"') [kind, value] = ['ident', this.quotedIdent(start)];
      else if (isDigit(c) || (c === '.' && isDigit(this.peek()))) [kind, value] = ['number', this.number()];
      else if (c === '$' && isDigit(this.peek())) [kind, value] = ['parameter', this.parameter(start)];
      else if (c === '$') {
        kind = 'string';
        [dollarTag, value] = this.dollarString(start);
      } else if (c === '(') kind = 'lparen';
      else if (c === ')') kind = 'rparen';
      else if (c === ',') kind = 'comma';
      else if (c === '.') kind = 'dot';
      else if (c === ':') kind = this.consume(':') ? 'doubleColon' : 'colon';
      else if (c === ';') kind = 'semicolon';
      else if (c === '[') kind = 'lbracket';
      else if (c === ']') kind = 'rbracket';
      else if (OP_CHARS.includes(c)) [kind, value] = this.operator();
      else throw new SqlLexError(`unexpected character in input: ${c}`, start);
      if (kind === 'doubleColon') value = '::';
      const token: Token = { kind, value, start, end: this.pos };
      if (dollarTag !== undefined) token.dollarTag = dollarTag;
      if (this.continued) token.continued = true;
      this.tokens.push(token);
    }
    return this.tokens;
  }

  /** lex_multiline_comment: nested, so every /* needs its own closing. */
  private multilineComment(start: number): void {
    let nesting = 0;
    for (let c = this.next(); c !== undefined; c = this.next()) {
      if (c === '*' && this.consume('/')) {
        if (nesting === 0) return;
        nesting--;
      } else if (c === '/' && this.consume('*')) nesting++;
    }
    throw new SqlLexError('unterminated multiline comment', start);
  }

  /** lex_ident: the word lower-cased; longer than 255 bytes is an error. */
  private word(start: number): string {
    this.pos = start;
    const word = this.takeWhile(isIdentPart).toLowerCase();
    if (utf8Length(word) > MAX_IDENTIFIER_BYTES)
      throw new SqlLexError(`identifier length exceeds ${MAX_IDENTIFIER_BYTES} bytes`, start);
    return word;
  }

  /** lex_quoted_ident: "" inside stands for one ". */
  private quotedIdent(start: number): string {
    let out = '';
    for (;;) {
      const c = this.next();
      if (c === '"' && this.consume('"')) out += '"';
      else if (c === '"') break;
      else if (c === undefined) throw new SqlLexError('unterminated quoted identifier', start);
      else out += c;
    }
    if (utf8Length(out) > MAX_IDENTIFIER_BYTES)
      throw new SqlLexError(`identifier length exceeds ${MAX_IDENTIFIER_BYTES} bytes`, start);
    return out;
  }

  /** lex_string: '' inside stands for one '; continues into an adjacent string on a later line. */
  private plainString(): string {
    let out = '';
    do {
      const start = this.pos - 1;
      for (;;) {
        const c = this.next();
        if (c === "'" && this.consume("'")) out += "'";
        else if (c === "'") break;
        else if (c === undefined) throw new SqlLexError('unterminated quoted string', start);
        else out += c;
      }
    } while (this.toAdjacentString());
    return out;
  }

  /** lex_extended_string: backslash escapes, in the continuation lines too. */
  private extendedString(): string {
    const simple: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
    let out = '';
    do {
      const start = this.pos - 1;
      for (;;) {
        const c = this.next();
        if (c === "'" && this.consume("'")) out += "'";
        else if (c === "'") break;
        else if (c === '\\') {
          const e = this.next();
          if (e === undefined) throw new SqlLexError('unterminated quoted string', start);
          if (e in simple) out += simple[e];
          else if (e === 'u' || e === 'U') out += this.unicodeEscape(e === 'u' ? 4 : 8);
          else if (e >= '0' && e <= '7') {
            const at = this.pos - 2;
            this.takeWhile((ch) => ch >= '0' && ch <= '7');
            throw new SqlLexError('octal escapes are not supported', at);
          } else if (e === 'x') throw new SqlLexError('hexadecimal escapes are not supported', this.pos - 2);
          else out += this.fullChar(e);
        } else if (c === undefined) throw new SqlLexError('unterminated quoted string', start);
        else out += c;
      }
    } while (this.toAdjacentString());
    return out;
  }

  /** After a character just read: the rest of its surrogate pair, so escapes act on whole characters. */
  private fullChar(c: string): string {
    const low = this.peek();
    return c >= '\ud800' && c <= '\udbff' && low !== undefined && low >= '\udc00' && low <= '\udfff' ? c + this.next()! : c;
  }

  /** \uXXXX or \UXXXXXXXX: exactly n characters read as u32::from_str_radix(_, 16) (which takes a leading +). */
  private unicodeEscape(n: number): string {
    const at = this.pos - 2;
    const chars: string[] = [];
    for (let k = 0; k < n; k++) {
      const c = this.next();
      if (c === undefined) throw new SqlLexError('invalid unicode escape', at);
      chars.push(this.fullChar(c));
    }
    const digits = chars.join('');
    const cp = /^\+?[0-9A-Fa-f]+$/.test(digits) ? parseInt(digits, 16) : NaN;
    if (!Number.isInteger(cp) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      throw new SqlLexError('invalid unicode escape', at);
    return String.fromCodePoint(cp);
  }

  /**
   * lex_to_adjacent_string: after a closing quote, white space holding a newline followed by ' continues the
   * same literal. (Materialize consumes the white space either way; we step back so that a token's end is its
   * closing quote, which changes nothing else: white space between tokens is skipped.)
   */
  private toAdjacentString(): boolean {
    const before = this.pos;
    const ws = this.takeWhile(isAsciiWhitespace);
    if (/[\n\r]/.test(ws) && this.consume("'")) return (this.continued = true);
    this.pos = before;
    return false;
  }

  /** lex_dollar_string: $tag$…$tag$, the tag being any characters but $. */
  private dollarString(start: number): [string, string] {
    const tag = this.takeWhile((c) => c !== '$');
    this.next();
    const delimiter = `$${tag}$`;
    const close = this.s.indexOf(delimiter, this.pos);
    if (close < 0) {
      this.pos = this.s.length;
      throw new SqlLexError('unterminated dollar-quoted string', start);
    }
    const body = this.s.slice(this.pos, close);
    this.pos = close + delimiter.length;
    return [tag, body];
  }

  /** lex_parameter: $ and digits, as a usize. */
  private parameter(start: number): string {
    const digits = this.takeWhile(isDigit);
    if (BigInt(digits) > 0xffff_ffff_ffff_ffffn) throw new SqlLexError('invalid parameter number', start);
    return String(BigInt(digits));
  }

  /** lex_number: digits, an optional fraction, an optional exponent (E normalized to upper case). */
  private number(): string {
    this.pos--;
    let out = this.takeWhile(isDigit);
    if (this.consume('.')) out += '.' + this.takeWhile(isDigit);
    if (this.consume('e') || this.consume('E')) {
      let sign = '';
      let requireExponent = false;
      if (this.consume('-')) [sign, requireExponent] = ['-', true];
      else requireExponent = this.consume('+');
      const exponent = this.takeWhile(isDigit);
      if (requireExponent && exponent === '') throw new SqlLexError('missing required exponent', this.pos - 1);
      if (exponent === '') this.pos--; // put the E back
      else out += 'E' + sign + exponent;
    }
    return out;
  }

  /** lex_op: the longest run of operator characters, with PostgreSQL's rules for comments and trailing +/-. */
  private operator(): [TokenKind, string] {
    this.pos--;
    if (this.s.startsWith('=>', this.pos)) {
      this.pos += 2;
      return ['arrow', '=>'];
    }
    let op = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined || !OP_CHARS.includes(c)) break;
      // `--` and `/*` start comments even inside what would otherwise be an operator.
      if ((c === '-' && this.s[this.pos + 1] === '-') || (c === '/' && this.s[this.pos + 1] === '*')) break;
      op += c;
      this.pos++;
    }
    // A multi-character operator ending in + or - needs a nonstandard character, so 1+-2 is 1 + (-2).
    if (op.length > 1 && /[+-]$/.test(op) && ![...op].some((c) => NONSTANDARD_OP_CHARS.includes(c))) {
      while (op.length > 1 && /[+-]$/.test(op)) {
        op = op.slice(0, -1);
        this.pos--;
      }
    }
    if (op === '*') return ['star', op];
    if (op === '=') return ['eq', op];
    if (op === '!=') return ['op', '<>'];
    return ['op', op];
  }
}
