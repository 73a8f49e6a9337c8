/** A cursor over tokens with the helpers the statement parsers share. */
import { MzError, SqlState } from '../errors';
import type { Token } from './lexer';

/** A possibly qualified object name; parts are normalized (unquoted identifiers lower-cased). */
export interface ObjectName {
  parts: string[];
}

export function objectNameToString(name: ObjectName): string {
  return name.parts.join('.');
}

/** An option value as Materialize's WITH-option syntax accepts it. */
export type OptionValue =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: string }
  | { kind: 'ident'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'object'; name: ObjectName }
  | { kind: 'none' };

export class TokenStream {
  pos = 0;
  constructor(
    readonly tokens: Token[],
    readonly text: string,
  ) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)];
  }

  next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  atEnd(): boolean {
    return this.peek().kind === 'eof';
  }

  isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'ident' && t.value === word;
  }

  /** True when the next tokens are exactly these keywords (consumed only if all match). */
  acceptKeywords(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) if (!this.isKeyword(words[k], k)) return false;
    this.pos += words.length;
    return true;
  }

  expectKeywords(...words: string[]): void {
    if (!this.acceptKeywords(...words)) throw this.expected(words.join(' ').toUpperCase());
  }

  isPunct(p: string, offset = 0): boolean {
    const t = this.peek(offset);
    return (t.kind === 'punct' || t.kind === 'op') && t.value === p;
  }

  acceptPunct(p: string): boolean {
    if (!this.isPunct(p)) return false;
    this.pos++;
    return true;
  }

  expectPunct(p: string): void {
    if (!this.acceptPunct(p)) throw this.expected(p);
  }

  describe(t: Token): string {
    switch (t.kind) {
      case 'eof':
        return 'end of input';
      case 'ident':
        return `identifier "${t.value}"`;
      case 'qident':
        return `identifier "${t.value}"`;
      case 'string':
        return `string literal '${t.value}'`;
      case 'number':
        return `number "${t.value}"`;
      default:
        return `operator "${t.value}"`;
    }
  }

  expected(what: string): MzError {
    return new MzError(SqlState.SyntaxError, `Expected ${what}, found ${this.describe(this.peek())}`);
  }

  identifier(): string {
    const t = this.peek();
    if (t.kind === 'ident' || t.kind === 'qident') {
      this.pos++;
      return t.value;
    }
    throw this.expected('identifier');
  }

  objectName(): ObjectName {
    const parts = [this.identifier()];
    while (this.isPunct('.')) {
      this.pos++;
      parts.push(this.identifier());
    }
    if (parts.length > 3) {
      throw new MzError(SqlState.SyntaxError, `qualified name did not have between 1 and 3 components: ${parts.join('.')}`);
    }
    return { parts };
  }

  /** The source text from token index `from` up to (not including) the current token. */
  textFrom(from: number): string {
    const a = this.tokens[from];
    const b = this.tokens[Math.max(from, this.pos - 1)];
    return this.text.slice(a.start, b.end);
  }

  /** The source text from token index `from` to the end of the statement. */
  restFrom(from: number): string {
    return this.text.slice(this.tokens[from].start).trim();
  }

  /**
   * An option value: a literal, TRUE/FALSE, an identifier or an object name. `=` before it is optional,
   * as in Materialize. Returns kind 'none' when the option has no value (followed by `,` or `)`).
   */
  optionValue(): OptionValue {
    this.acceptPunct('=');
    const t = this.peek();
    if (t.kind === 'punct' && (t.value === ',' || t.value === ')')) return { kind: 'none' };
    if (t.kind === 'string') {
      this.pos++;
      return { kind: 'string', value: t.value };
    }
    if (t.kind === 'number') {
      this.pos++;
      return { kind: 'number', value: t.value };
    }
    if (t.kind === 'op' && t.value === '-' && this.peek(1).kind === 'number') {
      this.pos += 2;
      return { kind: 'number', value: '-' + this.tokens[this.pos - 1].value };
    }
    if (t.kind === 'ident' && (t.value === 'true' || t.value === 'false')) {
      this.pos++;
      return { kind: 'bool', value: t.value === 'true' };
    }
    if (t.kind === 'ident' || t.kind === 'qident') {
      const name = this.objectName();
      if (name.parts.length === 1) return { kind: 'ident', value: name.parts[0] };
      return { kind: 'object', name };
    }
    throw this.expected('option value');
  }
}

/** Reads an option value as text (strings, numbers and identifiers); `what` names the option in errors. */
export function optionText(v: OptionValue, what: string): string {
  switch (v.kind) {
    case 'string':
    case 'number':
    case 'ident':
      return v.value;
    case 'bool':
      return String(v.value);
    case 'object':
      return objectNameToString(v.name);
    case 'none':
      throw new MzError(SqlState.InvalidParameterValue, `invalid ${what}: expected a value`);
  }
}

/** Materialize's error for an option value of the wrong type (`invalid <OPTION>: <why>`). */
export function invalidOption(what: string, why: string): MzError {
  return new MzError(SqlState.SystemError, `invalid ${what}: ${why}`);
}

/**
 * A text option as Materialize converts it (TryFromValue for String, src/sql/src/plan/with_options.rs): a
 * string literal or an identifier; numbers and booleans are refused.
 */
export function optionString(v: OptionValue, what: string): string {
  switch (v.kind) {
    case 'string':
    case 'ident':
      return v.value;
    case 'none':
      throw invalidOption(what, 'must provide a string value');
    case 'object':
      throw invalidOption(what, 'incompatible value types: cannot convert object names to text');
    default:
      throw invalidOption(what, 'cannot use value as string');
  }
}

/** A boolean option as Materialize converts it: TRUE or FALSE, or the bare option name meaning true. */
export function optionBool(v: OptionValue, what: string): boolean {
  if (v.kind === 'none') return true;
  if (v.kind === 'bool') return v.value;
  if (v.kind === 'object') throw invalidOption(what, 'incompatible value types: cannot convert object names to bool');
  throw invalidOption(what, 'cannot use value as boolean');
}
