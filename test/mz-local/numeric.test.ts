/**
 * Numeric with Materialize's semantics: only the scale of numeric(p, s) is kept (SqlScalarType::Numeric { max_scale },
 * src/repr/src/scalar.rs), the precision is not enforced beyond Materialize's 39 digits (test/sqllogictest/numeric.slt:
 * `12::numeric(39,38)` is a numeric field overflow), and a value Parquet's Decimal128(38, s) cannot hold fails in the
 * writer (src/arrow-util/src/builder.rs).
 */
import * as assert from 'node:assert/strict';
import type { Client } from 'pg';
import { widenNumericPrecision } from '../../local/mz-local/sql/lexer';
import { expectPgError, listKeys, useSuite, type ExportSetup, type SharedStack, type SuiteContext } from './helpers';

describe('mz-local numeric semantics (src/repr/src/scalar.rs Numeric { max_scale }, test/sqllogictest/numeric.slt)', function () {
  let stack: SharedStack;
  let c: Client;
  let s: ExportSetup;
  useSuite({ exportSetup: true }, (t) => ({ stack, clients: [c], setup: s } = t as Required<SuiteContext>));

  it('rewrites declared precisions to 39 in the SQL the engine sees, leaving strings and larger precisions alone', () => {
    assert.equal(widenNumericPrecision(`SELECT 1::numeric(5,2), 'numeric(5,2)', x::DECIMAL(10)`), `SELECT 1::numeric(39,2), 'numeric(5,2)', x::DECIMAL(39)`);
    assert.equal(widenNumericPrecision('SELECT 1::numeric(40,2)'), 'SELECT 1::numeric(40,2)');
    assert.equal(widenNumericPrecision('SELECT 1'), 'SELECT 1');
  });

  it('does not enforce a declared precision on cast or insert; the scale rounds; 39 digits is the limit', async () => {
    assert.equal((await c.query(`SELECT 12345.678::numeric(5,2) AS n`)).rows[0].n, '12345.68');
    await c.query(`CREATE TABLE num_t (v numeric(5,2))`);
    await c.query(`INSERT INTO num_t VALUES (12345.678)`);
    assert.equal((await c.query(`SELECT v FROM num_t`)).rows[0].v, '12345.68');
    assert.equal((await c.query({ text: `SELECT $1::numeric(3,1) AS n`, values: ['9999.99'] })).rows[0].n, '10000', 'extended protocol too');
    assert.equal((await expectPgError(() => c.query(`SELECT 12::numeric(39,38)`))).message, 'numeric field overflow');
  });

  it('an overflow of Decimal128(38, s) surfaces as the Parquet writer error, after the preflight', async () => {
    const path = `${s.prefix}/numeric-overflow`;
    const e = await expectPgError(() =>
      c.query(`COPY (SELECT 2e36::numeric(39,2) AS v) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`),
    );
    assert.match(e.message, /^Decimal value 20{36} out of range for parquet$/, "the coefficient times 10^scale exceeds i128 (builder.rs)");
    assert.ok((await listKeys(stack.moto, s.bucket, path + '/')).some((k) => k.endsWith('-INCOMPLETE')), 'failed in the sink, after the preflight');
  });
});
