import { strict as assert } from 'node:assert';
import { lex, type Token } from '../../common/sql/lexer';
import { normalizeQuery, queryProblem } from '../../common/sql/query-source';

/** kind:value pairs, the form the expectations below are written in. */
const shape = (sql: string) => lex(sql).map((t: Token) => `${t.kind}:${t.value}`);
const lexError = (sql: string) => {
  try {
    lex(sql);
  } catch (e) {
    return (e as Error).message;
  }
  return '(lexed)';
};

describe('SQL lexer (Materialize src/sql-lexer/src/lexer.rs)', () => {
  it('continues a string across white space only when it holds a newline, keeping E-string escapes', () => {
    // lex_to_adjacent_string: the second part of an E-string continuation is read with backslash escapes.
    assert.deepEqual(shape("SELECT e'a'\n'\\' ' AS c, 42 AS hidden_column --'"), [
      'word:select', "string:a' ", 'word:as', 'word:c', 'comma:,', 'number:42', 'word:as', 'word:hidden_column',
    ]);
    assert.deepEqual(shape("'a'\r'b' 'c'"), ['string:ab', 'string:c']);
    assert.deepEqual(shape("'a' -- x\n'b'"), ['string:a', 'string:b'], 'a comment breaks the continuation');
    assert.equal(lex("'a'\n'b'")[0].continued, true);
    assert.equal(lex("'a' 'b'")[0].continued, undefined);
  });

  it('reads E-strings, hex strings, quoted identifiers and dollar quotes as Materialize does', () => {
    assert.deepEqual(shape("E'\\u0041\\n\\q' x'ff' X'0A'"), ['string:A\nq', 'hexString:ff', 'hexString:0A']);
    assert.deepEqual(shape('"A""b" "" Mixed'), ['ident:A"b', 'ident:', 'word:mixed']);
    assert.deepEqual(shape("$$a'b$$ $t$x$$y$t$ $a b$z$a b$"), ["string:a'b", 'string:x$$y', 'string:z']);
    assert.equal(lex('$t$x$t$')[0].dollarTag, 't');
    // No b'', n'' or u&'' prefixes in Materialize: those letters are words of their own.
    assert.deepEqual(shape("b'1' n'x'"), ['word:b', 'string:1', 'word:n', 'string:x']);
  });

  it('nests block comments and ends line comments at \\n only', () => {
    assert.deepEqual(shape('/* a /* b */ c */ 1'), ['number:1']);
    assert.deepEqual(shape('1 -- a\r 2\n3'), ['number:1', 'number:3']);
    assert.deepEqual(shape('1 */ 2'), ['number:1', 'op:*/', 'number:2']);
  });

  it('lexes operators, numbers and parameters with PostgreSQL rules', () => {
    assert.deepEqual(shape('1+-2 1@+2 a!=b x=>y * = <= 1--c'), [
      'number:1', 'op:+', 'op:-', 'number:2', 'number:1', 'op:@+', 'number:2', 'word:a', 'op:<>', 'word:b',
      'word:x', 'arrow:=>', 'word:y', 'star:*', 'eq:=', 'op:<=', 'number:1',
    ]);
    assert.deepEqual(shape('1.5e-3 .5 1e 1_000 $12 a::int'), [
      'number:1.5E-3', 'number:.5', 'number:1', 'word:e', 'number:1', 'word:_000', 'parameter:12', 'word:a',
      'doubleColon:::', 'word:int',
    ]);
  });

  it('takes every non-ASCII character, spaces included, as part of a word', () => {
    assert.deepEqual(shape('SELECT 1\u00a0'), ['word:select', 'number:1', 'word:\u00a0']);
    assert.deepEqual(shape('Straße'), ['word:straße']);
  });

  it('fails where Materialize fails, with its messages', () => {
    assert.equal(lexError("'open"), 'unterminated quoted string');
    assert.equal(lexError("e'\\101'"), 'octal escapes are not supported');
    assert.equal(lexError("e'\\x41'"), 'hexadecimal escapes are not supported');
    assert.equal(lexError("e'\\uZZZZ'"), 'invalid unicode escape');
    assert.equal(lexError('/* /* */'), 'unterminated multiline comment');
    assert.equal(lexError('$a'), 'unterminated dollar-quoted string');
    assert.equal(lexError('"x'), 'unterminated quoted identifier');
    assert.equal(lexError('1e+'), 'missing required exponent');
    assert.equal(lexError('a \\ b'), 'unexpected character in input: \\');
    assert.equal(lexError('a \v b'), 'unexpected character in input: \v', 'vertical tab is not white space');
    assert.equal(lexError('x'.repeat(256)), 'identifier length exceeds 255 bytes');
    assert.equal(lexError('é'.repeat(128)), 'identifier length exceeds 255 bytes', 'bytes, not characters');
    assert.equal(lexError('a\0b'), 'null character in input');
  });
});

describe('export query check', () => {
  const accepted = [
    'SELECT 1',
    '  SELECT 1;  ;',
    'select * from t where s = $$it\'s$$',
    "SELECT e'it\\'s' AS x",
    '(SELECT 1) UNION (SELECT 2)',
    'WITH x AS (SELECT 1) SELECT * FROM x',
    'SELECT row_number() OVER (ORDER BY a) FROM t',
    '-- leading note\nSELECT 1 -- trailing note',
    'SELECT "weird ) name" FROM t',
    'SELECT a[1] FROM t',
  ];
  for (const q of accepted) it(`accepts ${JSON.stringify(q)}`, () => assert.equal(queryProblem(q), undefined));

  const rejected: [string, RegExp][] = [
    // The validator of old read these as one string; Materialize runs a hidden column or comments out the rest.
    ["SELECT e'a'\n'\\' ' AS c, 42 AS hidden_column --'", /continues a string literal on the next line/],
    // ... or opens a comment that an export prefix holding */ would have closed inside the COPY's target.
    ["SELECT e'a'\n'\\' ' /* '", /unterminated multiline comment/],
    ["SELECT E'\\'' ) TO 's3://evil/x' WITH (FORMAT = 'csv') --'", /closes a parenthesis it never opened/],
    ['SELECT 1; DROP TABLE t', /single statement/],
    ['SELECT 1) TO \'s3://x/y\' WITH (FORMAT = \'csv\') --', /closes a parenthesis/],
    ['SELECT (1', /never closes/],
    ['SELECT $1', /parameter \$1/],
    ['SELECT $a b$x$a b$', /dollar-quote tag "a b"/],
    ['SELECT 1\u00a0', /invisible character U\+00A0/],
    ['SELECT /* \u202e */ 1', /text-direction control character U\+202E/],
    ["SELECT e'\\101'", /not valid Materialize SQL: octal escapes are not supported \(line 1, column 10\)/],
    ['DELETE FROM t', /SELECT query/],
    ["'x' SELECT 1", /must start with SELECT/],
    ['SELECT * FROM t ORDER BY a', /ORDER BY/],
    ['', /empty/],
    [';;', /empty/],
  ];
  for (const [q, re] of rejected) it(`rejects ${JSON.stringify(q)}`, () => assert.match(queryProblem(q) ?? '(accepted)', re));

  it('normalizes to the span from the first character to the last token that is not ";"', () => {
    assert.equal(normalizeQuery('\n  SELECT 1 ; -- bye\n ;'), 'SELECT 1');
    assert.equal(normalizeQuery('-- hi\nSELECT 1 -- bye'), '-- hi\nSELECT 1');
    assert.equal(normalizeQuery('SELECT 1\u00a0'), 'SELECT 1\u00a0', 'only what Materialize takes as white space is trimmed');
  });
});
