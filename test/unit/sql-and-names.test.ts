import { strict as assert } from 'node:assert';
import { quoteIdent, quoteLiteral, quoteQualifiedName } from '../../common/sql/quoting';
import { bucketNameProblem, iamPrincipalArnProblem, prefixProblem } from '../../common/aws-names';

describe('SQL quoting', () => {
  it('quotes identifiers and doubles embedded quotes', () => {
    assert.equal(quoteIdent('orders'), '"orders"');
    assert.equal(quoteIdent('a"; DROP TABLE x; --'), '"a""; DROP TABLE x; --"');
    assert.throws(() => quoteIdent(''), /empty/);
    assert.throws(() => quoteIdent('a\0b'), /NUL/);
  });

  it('splits qualified names outside quotes and folds unquoted parts to lower case', () => {
    assert.equal(quoteQualifiedName('public.Orders'), '"public"."orders"');
    assert.equal(quoteQualifiedName('"My.Schema"."Odd ""Name"""'), '"My.Schema"."Odd ""Name"""');
    assert.equal(quoteQualifiedName('materialize.public.orders'), '"materialize"."public"."orders"');
    assert.throws(() => quoteQualifiedName('a.b.c.d'), /schema\.name/);
    assert.throws(() => quoteQualifiedName('orders; drop'), /white space|contains/);
    assert.throws(() => quoteQualifiedName('x--y'), /double quotes/);
    assert.throws(() => quoteQualifiedName('"open'), /unclosed/);
  });

  it('escapes literals', () => {
    assert.equal(quoteLiteral("it's"), "'it''s'");
    assert.equal(quoteLiteral("s3://b/p' || pg_sleep(1) || '"), "'s3://b/p'' || pg_sleep(1) || '''");
  });
});

describe('AWS names', () => {
  it('accepts valid bucket names and explains invalid ones', () => {
    assert.equal(bucketNameProblem('my-exports.data'), undefined);
    assert.match(bucketNameProblem('My_Bucket')!, /lower-case/);
    assert.match(bucketNameProblem('ab')!, /3 to 63/);
    assert.match(bucketNameProblem('a..b')!, /adjacent/);
    assert.match(bucketNameProblem('192.168.1.1')!, /IP address/);
    assert.match(bucketNameProblem(42)!, /string/);
  });

  it('rejects prefixes with traversal, a leading slash or odd characters', () => {
    assert.equal(prefixProblem('exports/team-a'), undefined);
    assert.equal(prefixProblem('exports/'), undefined);
    assert.match(prefixProblem('/exports')!, /start with '\/'/);
    assert.match(prefixProblem('a/../b')!, /'\.\.'/);
    assert.match(prefixProblem('a//b')!, /empty/);
    assert.match(prefixProblem('')!, /empty/);
    assert.match(prefixProblem('a/b"c')!, /segment/);
  });

  it('checks principal ARNs', () => {
    assert.equal(iamPrincipalArnProblem('arn:aws:iam::664411391173:role/MaterializeConnection'), undefined);
    assert.match(iamPrincipalArnProblem('arn:aws:iam::1234:role/x')!, /role ARN/);
  });
});
