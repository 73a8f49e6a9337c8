/**
 * The one piece of user SQL this project runs: the SELECT an export copies (`COPY (<query>) TO ...`). It is
 * read with Materialize's own lexer rules (./lexer) and accepted only when it is one SELECT-like statement
 * whose parentheses balance, so that it cannot close the COPY's "(" and append its own TO or WITH, and only
 * when a person reading it sees what Materialize will run. Pure: workflows and activities both use it.
 */
import { lex, SqlLexError, type Token } from './lexer';

/** Longest SELECT accepted as an export source. */
export const MAX_QUERY_CHARS = 100_000;

const LEADING_KEYWORDS = ['select', 'with', 'values', 'table'];

/** Characters that display as nothing or as a different order of text (Trojan Source: CVE-2021-42574). */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
/** Characters Materialize takes as part of an unquoted word that a reader sees as space or nothing. */
const INVISIBLE_IN_WORD = /[\p{White_Space}\p{Cf}\p{Cc}]/u;
/** A dollar-quote tag every PostgreSQL-dialect tool reads the same way (Materialize takes any text but $). */
const PLAIN_DOLLAR_TAG = /^([A-Za-z_][A-Za-z0-9_]*)?$/;

/** Where offset `at` is, as "line L, column C" (1-based). */
function lineAndColumn(text: string, at: number): string {
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  return `line ${line}, column ${at - before.lastIndexOf('\n')}`;
}

const codePoint = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** Materialize's white space (ASCII only; other space characters are part of words). */
const trimSqlWhitespace = (q: string) => q.replace(/^[ \t\n\f\r]+|[ \t\n\f\r]+$/g, '');

/**
 * The query as it goes into the COPY: from its first character that is not white space to the end of its
 * last token that is not ";" (trailing semicolons and anything after the last token, such as a comment, go).
 * A query the lexer rejects is only trimmed; queryProblem reports it.
 */
export function normalizeQuery(query: string): string {
  let tokens: Token[];
  try {
    tokens = lex(query);
  } catch {
    return trimSqlWhitespace(query);
  }
  let last = tokens.length - 1;
  while (last >= 0 && tokens[last].kind === 'semicolon') last--;
  return last < 0 ? '' : trimSqlWhitespace(query.slice(0, tokens[last].end));
}

/** Why a query cannot be the source of a COPY, or undefined. Every message says what to change. */
export function queryProblem(query: unknown): string | undefined {
  if (typeof query !== 'string') return 'must be a string';
  const q = normalizeQuery(query);
  if (q === '') return 'must not be empty';
  // The query travels in activity inputs, the manifest and the history: keep it far below Temporal's payload
  // limits. A longer one belongs in a view, exported by name.
  if (q.length > MAX_QUERY_CHARS)
    return `is ${q.length} characters; at most ${MAX_QUERY_CHARS}. Create a view for it and export the view by name`;
  const bidi = BIDI_CONTROLS.exec(q);
  if (bidi)
    return `contains the text-direction control character ${codePoint(bidi[0])} (${lineAndColumn(q, bidi.index)}), which makes the query display differently from how it runs; remove it`;
  let tokens: Token[];
  try {
    tokens = lex(q);
  } catch (e) {
    if (!(e instanceof SqlLexError)) throw e;
    return `is not valid Materialize SQL: ${e.message} (${lineAndColumn(q, e.position)})`;
  }
  return tokensProblem(q, tokens);
}

function tokensProblem(q: string, tokens: Token[]): string | undefined {
  let depth = 0;
  let brackets = 0;
  let firstWord: Token | undefined;
  const where = (t: Token) => lineAndColumn(q, t.start);
  for (const [k, t] of tokens.entries()) {
    switch (t.kind) {
      case 'semicolon':
        return `must be a single statement (it contains ";" at ${where(t)})`;
      case 'parameter':
        return `uses the parameter $${t.value} (${where(t)}); write the value into the query`;
      case 'lparen':
        depth++;
        break;
      case 'rparen':
        if (--depth < 0) return `closes a parenthesis it never opened (${where(t)})`;
        break;
      case 'lbracket':
        brackets++;
        break;
      case 'rbracket':
        if (--brackets < 0) return `closes a square bracket it never opened (${where(t)})`;
        break;
      case 'string':
        if (t.continued)
          return `continues a string literal on the next line (${where(t)}): Materialize joins '…' followed by a line break and '…' into one string, which reads like two; write it as one literal`;
        if (t.dollarTag !== undefined && !PLAIN_DOLLAR_TAG.test(t.dollarTag))
          return `uses the dollar-quote tag ${JSON.stringify(t.dollarTag)} (${where(t)}); use $$ or a tag of letters, digits and _ such as $body$`;
        break;
      case 'hexString':
        if (t.continued) return `continues a string literal on the next line (${where(t)}); write it as one literal`;
        break;
      case 'ident':
        // Materialize's parser refuses "" (sql-parser/src/parser.rs: "zero-length delimited identifier").
        if (t.value === '') return `has an empty quoted identifier "" (${where(t)}); write a name between the quotes`;
        break;
      case 'word': {
        const hidden = INVISIBLE_IN_WORD.exec(q.slice(t.start, t.end));
        if (hidden)
          return `has the invisible character ${codePoint(hidden[0])} outside quotes (${where(t)}), which Materialize reads as part of a name; remove it`;
        if (!firstWord) {
          firstWord = t;
          if (tokens.slice(0, k).some((p) => p.kind !== 'lparen')) return `must start with SELECT, WITH, VALUES or TABLE`;
        }
        break;
      }
    }
  }
  if (depth !== 0) return 'opens a parenthesis it never closes';
  if (brackets !== 0) return 'opens a square bracket it never closes';
  if (!firstWord || !LEADING_KEYWORDS.includes(firstWord.value)) {
    const first = firstWord ? JSON.stringify(firstWord.value.toUpperCase()) : 'no keyword';
    return `must be a SELECT query (it starts with ${first})`;
  }
  const top = topLevelWords(tokens);
  for (let k = 0; k + 1 < top.length; k++) {
    if (top[k] === 'order' && top[k + 1] === 'by')
      return 'must not end in ORDER BY: Materialize does not support ORDER BY in COPY ... TO; sort when you read the files';
  }
  return undefined;
}

/** The unquoted words outside every parenthesis, in order. */
function topLevelWords(tokens: Token[]): string[] {
  const words: string[] = [];
  let depth = 0;
  for (const t of tokens) {
    if (t.kind === 'lparen') depth++;
    else if (t.kind === 'rparen') depth--;
    else if (t.kind === 'word' && depth === 0) words.push(t.value);
  }
  return words;
}
