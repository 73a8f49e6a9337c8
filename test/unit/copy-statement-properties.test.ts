/**
 * Property tests of the COPY statement: whatever the user sends (query, object name, prefix, file size), it
 * is either rejected or the built COPY, read back with Materialize's lexer rules, has exactly the target and
 * options that were built, with the user's text confined to its own position. The expectation is written out
 * here token by token, independently of the builder.
 */
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { prefixProblem } from '../../common/aws-names';
import { attemptKey, s3Uri } from '../../common/export/paths';
import { buildCopySql, parseMaxFileSize } from '../../common/export/sql';
import { lex, type Token } from '../../common/sql/lexer';
import { normalizeQuery, queryProblem } from '../../common/sql/query-source';
import { splitQualifiedName } from '../../common/sql/quoting';
import { parseSpecial, type CopyToStatement } from '../../local/mz-local/sql/statements';

/** Fragments chosen to break out of a string, comment, identifier or parenthesis, and COPY's own words. */
const HOSTILE = [
  "'", "''", "e'", "E'", "x'", '\\', "\\'", '$', '$$', '$q$', '$1', '"', '""', '--', '/*', '*/', '\n', '\r', '\r\n',
  ' ', '\t', ';', '(', ')', '[', ']', ',', '.', '=', '=>', '*', 'TO', 'WITH', 'FORMAT', 'AWS', 'CONNECTION',
  'HEADER', 'MAX FILE SIZE', "'s3://evil/x'", 'SELECT', 'FROM', 'ORDER BY', '1', 'a', 'é', '\u00a0', '\u202e',
];
const fragment = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 3 }));
const fragments = fc.array(fragment, { maxLength: 20 }).map((a) => a.join(''));
/** Half start like a real query, so that a fair share is accepted and the built COPY gets checked. */
const queryText = fc.oneof(fragments, fragments.map((f) => `SELECT ${f}`), fragments.map((f) => `SELECT 1 AS ${f}`));

const prefixText = fc.oneof(
  fc.array(fc.constantFrom('a', 'B', '0', '-', '_', '.', '!', "'", '(', ')', '=', '*', '?', '/', '//', '--', '/*', '*/', '..', ' ', '%', '$', '\n'), { maxLength: 12 }).map((a) => a.join('')),
  fc.constantFrom('exports', 'team-a/exports/', 'x*/', 'a--b', "it's(1)", 'a/./b'),
);

const kv = (t: Token) => `${t.kind}:${t.value}`;

/** `TO '<uri>' WITH (AWS CONNECTION = "<conn>", FORMAT = '<f>'[, MAX FILE SIZE = '<s>'][, HEADER = true])` */
function expectedTail(uri: string, connection: string[], format: string, maxFileSize?: string, header?: boolean): string[] {
  const tail = ['word:to', `string:${uri}`, 'word:with', 'lparen:(', 'word:aws', 'word:connection', 'eq:='];
  connection.forEach((part, k) => tail.push(...(k ? ['dot:.'] : []), `ident:${part}`));
  tail.push('comma:,', 'word:format', 'eq:=', `string:${format}`);
  if (maxFileSize !== undefined) tail.push('comma:,', 'word:max', 'word:file', 'word:size', 'eq:=', `string:${maxFileSize}`);
  if (header) tail.push('comma:,', 'word:header', 'eq:=', 'word:true');
  tail.push('rparen:)');
  return tail;
}

/** Splits a built COPY into its source tokens and everything after the source. */
function splitCopy(sql: string): { source: Token[]; tail: Token[] } {
  const tokens = lex(sql);
  assert.equal(kv(tokens[0]), 'word:copy');
  if (tokens[1].kind !== 'lparen') {
    let end = 1;
    while (tokens[end].kind === 'ident' || tokens[end].kind === 'dot') end++;
    return { source: tokens.slice(1, end), tail: tokens.slice(end) };
  }
  let depth = 0;
  for (let k = 1; k < tokens.length; k++) {
    if (tokens[k].kind === 'lparen') depth++;
    if (tokens[k].kind === 'rparen' && --depth === 0) return { source: tokens.slice(2, k), tail: tokens.slice(k + 1) };
  }
  throw new Error(`the COPY's parenthesis never closes: ${sql}`);
}

const LOCATION = { bucket: 'exports-bucket', prefix: 'team/exports', exportName: 'orders' };
const TARGET = s3Uri(LOCATION.bucket, attemptKey(LOCATION, '2024-05-01T00:00:00Z', 1));

describe('COPY statement properties', () => {
  it('a query is rejected, or it is exactly the COPY source and the target and options follow it as built', () => {
    let accepted = 0;
    fc.assert(
      fc.property(queryText, fc.constantFrom<'csv' | 'parquet'>('csv', 'parquet'), fc.boolean(), (query, format, header) => {
        if (queryProblem(query) !== undefined) {
          assert.throws(() => buildCopySql({ query, targetUri: TARGET, connectionName: 'conn', format }), /query/);
          return;
        }
        accepted++;
        const sql = buildCopySql({ query, targetUri: TARGET, connectionName: 'conn', format, maxFileSize: '256MB', csvHeader: header });
        const { source, tail } = splitCopy(sql);
        assert.deepEqual(source.map(kv), lex(normalizeQuery(query)).map(kv), 'the source is the query, token for token');
        assert.deepEqual(tail.map(kv), expectedTail(TARGET, ['conn'], format, '256MB', format === 'csv' && header));
        // mz-local, our Materialize stand-in with a lexer of its own, reads the same target and options.
        const parsed = parseSpecial(sql) as CopyToStatement;
        assert.equal(parsed.kind, 'copy_to');
        assert.equal(parsed.relation.kind, 'query');
        assert.deepEqual(parsed.targetTokens.map((t) => [t.kind, t.value]), [['string', TARGET]]);
        assert.deepEqual(parsed.options.map((o) => o.name), ['AWS CONNECTION', 'FORMAT', 'MAX FILE SIZE', ...(format === 'csv' && header ? ['HEADER'] : [])]);
      }),
      { numRuns: 3000, seed: 20261201 },
    );
    assert.ok(accepted > 300, `only ${accepted} of 3000 generated queries were accepted; the property was barely exercised`);
  });

  it('an object name is rejected, or it is the quoted identifiers it names and nothing else', () => {
    fc.assert(
      fc.property(fragments, (object) => {
        let parts: string[];
        try {
          parts = splitQualifiedName(object);
        } catch {
          assert.throws(() => buildCopySql({ object, targetUri: TARGET, connectionName: 'conn', format: 'csv' }));
          return;
        }
        const { source, tail } = splitCopy(buildCopySql({ object, targetUri: TARGET, connectionName: 'conn', format: 'csv' }));
        assert.deepEqual(source.map(kv), parts.flatMap((p, k) => [...(k ? ['dot:.'] : []), `ident:${p}`]));
        assert.deepEqual(tail.map(kv), expectedTail(TARGET, ['conn'], 'csv'));
      }),
      { numRuns: 2000, seed: 7 },
    );
  });

  it('a prefix is rejected, or it holds nothing SQL, IAM or S3 read specially and lands in the target literal as is', () => {
    let accepted = 0;
    fc.assert(
      fc.property(prefixText, (prefix) => {
        if (prefixProblem(prefix) !== undefined) return;
        accepted++;
        for (const bad of ['*', '?', '--', '/*', '*/', '..', '//', ' ', '\n', '%', '$']) assert.ok(!prefix.includes(bad), `${prefix} holds ${bad}`);
        const target = s3Uri('b-1', attemptKey({ bucket: 'b-1', prefix: prefix.replace(/\/$/, ''), exportName: 'e' }, '2024-05-01T00:00:00Z', 1));
        const { tail } = splitCopy(buildCopySql({ object: 't', targetUri: target, connectionName: 'conn', format: 'parquet' }));
        assert.deepEqual(tail.map(kv), expectedTail(target, ['conn'], 'parquet'));
      }),
      { numRuns: 3000, seed: 3 },
    );
    assert.ok(accepted > 100, `only ${accepted} prefixes accepted`);
  });

  it('MAX FILE SIZE is rejected, or it is written in the one form Materialize renders it', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 8 }), fc.tuple(fc.nat(5000), fc.constantFrom('', ' ', '.5'), fc.constantFrom('B', 'kB', 'KB', 'MB', 'mb', 'GB', 'TB', 'MiB', "' )")).map(([n, s, u]) => `${n}${s}${u}`)), (size) => {
        const parsed = parseMaxFileSize(size);
        if ('problem' in parsed) return;
        assert.match(parsed.literal, /^\d+(B|kB|MB|GB|TB)$/);
        const { tail } = splitCopy(buildCopySql({ object: 't', targetUri: TARGET, connectionName: 'conn', format: 'parquet', maxFileSize: parsed.literal }));
        assert.deepEqual(tail.map(kv), expectedTail(TARGET, ['conn'], 'parquet', parsed.literal));
      }),
      { numRuns: 2000, seed: 11 },
    );
  });
});
