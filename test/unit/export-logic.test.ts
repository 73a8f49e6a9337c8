/** The export's pure logic: paths, input validation, the COPY statement, error classification, verification. */
import { strict as assert } from 'node:assert';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { heartbeat, heartbeating, heartbeatIntervalMs } from '../../activities/heartbeat';
import { sourceConflict, sourceDigest } from '../../activities/export/claims';
import {
  attemptClaimKey,
  attemptFolder,
  attemptKey,
  parseAttemptClaimName,
  publicationClaimKey,
  latestKey,
  parseAttemptFolder,
  parseLogicalTimeFolder,
  renderLogicalTime,
} from '../../common/export/paths';
import { resolveExportInput } from '../../common/export/input';
import { buildCopySql, parseMaxFileSize, queryProblem } from '../../common/export/sql';
import { classifyCopyError } from '../../activities/export/copy-errors';
import { isConnectionUnavailable } from '../../activities/pg-errors';
import { attemptState, buildManifest, classifyAttemptObjects, provenLeftovers, shouldReplaceLatest, verificationProblems } from '../../activities/export/manifest';
import type { FooterFacts } from '../../common/export/manifest';

const valid = {
  exportName: 'orders-daily',
  connectionName: 'aws_conn',
  object: 'public.orders',
  bucket: 'my-exports',
  prefix: 'exports/team/',
  format: 'parquet' as const,
};

describe('export paths', () => {
  it('renders logical times fixed-width, sortable and without colons, and parses them back', () => {
    assert.equal(renderLogicalTime('2024-05-01T12:00:00Z'), '20240501T120000.000Z');
    assert.equal(renderLogicalTime('2024-05-01T14:00:00.5+02:00'), '20240501T120000.500Z');
    assert.equal(parseLogicalTimeFolder('20240501T120000.500Z'), '2024-05-01T12:00:00.500Z');
    assert.equal(parseLogicalTimeFolder('20241301T120000.000Z'), undefined);
    const times = ['2023-12-31T23:59:59.999Z', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00.001Z', '2024-10-01T00:00:00Z'];
    const rendered = times.map(renderLogicalTime);
    assert.deepEqual([...rendered].sort(), rendered);
    assert.ok(rendered.every((r) => r.length === rendered[0].length && !r.includes(':')));
    assert.throws(() => renderLogicalTime('yesterday'), /not an ISO 8601 time/);
    assert.throws(() => renderLogicalTime('2024-02-30T00:00:00Z'), /2024-02 has 29 days/, 'no roll-over into March');
  });

  it('numbers attempts fixed-width so no attempt path is a prefix of another', () => {
    assert.equal(attemptFolder(1), 'attempt-001');
    assert.equal(attemptFolder(999), 'attempt-999');
    assert.throws(() => attemptFolder(1000));
    assert.throws(() => attemptFolder(0));
    assert.equal(parseAttemptFolder('attempt-010'), 10);
    assert.equal(parseAttemptFolder('attempt-10'), undefined);
    const loc = { bucket: 'b', prefix: 'exports', exportName: 'x' };
    const keys = [1, 2, 10, 11, 100, 101, 999].map((n) => attemptKey(loc, '2024-05-01T00:00:00Z', n));
    for (const a of keys) for (const b of keys) if (a !== b) assert.ok(!b.startsWith(a), `${a} is a prefix of ${b}`);
    assert.equal(keys[0], 'exports/x/20240501T000000.000Z/attempt-001');
    assert.equal(latestKey(loc), 'exports/x/_latest.json');
  });
});

describe('export input', () => {
  it('fills defaults and normalizes', () => {
    const r = resolveExportInput({ ...valid, maxFileSize: '1024 MB' });
    assert.equal(r.prefix, 'exports/team');
    assert.deepEqual(r.source, { kind: 'object', object: 'public.orders' });
    assert.equal(r.maxFileSize, '1GB');
    assert.equal(r.maxAttempts, 3);
    assert.equal(r.publishLatest, true);
    assert.equal(r.materializeProfile, 'default');
    assert.equal(r.tuning.copyHeartbeatTimeoutSeconds, 20);
    const q = resolveExportInput({ ...valid, object: undefined, query: '  SELECT 1;  ', tuning: { pollInitialMs: 100 } });
    assert.deepEqual(q.source, { kind: 'query', query: 'SELECT 1' });
    assert.equal(q.tuning.pollInitialMs, 100);
  });

  it('lists every problem at once, each saying what to change', () => {
    try {
      resolveExportInput({
        exportName: '_bad/name',
        connectionName: '',
        object: 'a',
        query: 'select 1',
        bucket: 'Bad_Bucket',
        prefix: '/abs',
        format: 'json',
        maxFileSize: '1MB',
        logicalTime: '2024-05-01',
        maxAttempts: 0,
        tuning: { pollInitialMs: 0, bogus: 1 },
        extra: true,
      });
      assert.fail('should throw');
    } catch (e) {
      const m = (e as Error).message;
      assert.equal((e as Error).name, 'InvalidInputError');
      for (const field of ['exportName', 'connectionName', 'object/query', 'bucket', 'prefix', 'format', 'maxFileSize', 'logicalTime', 'maxAttempts', 'tuning.pollInitialMs', 'tuning.bogus', 'extra']) {
        assert.match(m, new RegExp(`- ${field.replace('/', '\\/').replace('.', '\\.')}:`), `${field} missing in:\n${m}`);
      }
      assert.match(m, /16MB to 4GB/);
      assert.match(m, /"csv" or "parquet"/);
    }
    assert.throws(() => resolveExportInput('just a string'), /one JSON object/);
    assert.throws(() => resolveExportInput({ ...valid, format: 'parquet', csvHeader: true }), /csv" only/);
  });
});

describe('COPY statement', () => {
  it('quotes the object, connection and target, and puts a query on its own lines', () => {
    const sql = buildCopySql({
      object: 'Public."Odd""Name"',
      targetUri: "s3://bkt/p/it's/attempt-001",
      connectionName: 'aws_conn',
      format: 'csv',
      maxFileSize: '256MB',
      csvHeader: true,
    });
    assert.equal(
      sql,
      `COPY "public"."Odd""Name" TO 's3://bkt/p/it''s/attempt-001'\nWITH (AWS CONNECTION = "aws_conn", FORMAT = 'csv', MAX FILE SIZE = '256MB', HEADER = true)`,
    );
    const q = buildCopySql({ query: '-- note\nSELECT 1 -- trailing comment;', targetUri: 's3://bkt/p', connectionName: 'c', format: 'parquet', csvHeader: true });
    assert.equal(q, `COPY (\n-- note\nSELECT 1\n) TO 's3://bkt/p'\nWITH (AWS CONNECTION = "c", FORMAT = 'parquet')`);
    // Everything the builder is handed is checked again, whoever calls it.
    assert.throws(() => buildCopySql({ query: "SELECT e'a'\n'\\' ' /* '", targetUri: 's3://bkt/p', connectionName: 'c', format: 'csv' }), /query: is not valid/);
    assert.throws(() => buildCopySql({ object: 't', targetUri: "s3://bkt/p*/x", connectionName: 'c', format: 'csv' }), /target:/);
    assert.throws(() => buildCopySql({ object: 't', targetUri: 's3://bkt/p', connectionName: 'c', format: "csv' --" as 'csv' }), /format:/);
    assert.throws(() => buildCopySql({ object: 't', targetUri: 's3://bkt/p', connectionName: 'c', format: 'csv', maxFileSize: "16MB'" }), /maxFileSize:/);
  });

  it('accepts SELECT-like queries and refuses ones that could escape the parentheses', () => {
    for (const ok of [
      'SELECT * FROM t',
      "select ')' , \"a)b\" from t where x = 'it''s'",
      'WITH a AS (SELECT 1 ORDER BY 1 LIMIT 1) SELECT * FROM a',
      'SELECT row_number() OVER (ORDER BY id) FROM t',
      "SELECT E'\\' ) x' AS s",
      'SELECT /* nested /* ) */ still comment */ 1',
      '(SELECT 1) UNION (SELECT 2)',
      'VALUES (1), (2)',
      'SELECT $$x$$',
    ]) {
      assert.equal(queryProblem(ok), undefined, ok);
    }
    const bad: [string, RegExp][] = [
      ["SELECT 1) TO 's3://evil/x' WITH (AWS CONNECTION = c, FORMAT = 'csv') --", /never opened/],
      ['SELECT 1; DROP TABLE t', /single statement/],
      ['SELECT (1', /never closes/],
      ["SELECT 'abc", /unterminated quoted string/],
      ['SELECT 1 /* open', /comment/],
      ['DELETE FROM t', /SELECT query/],
      ['SELECT * FROM t ORDER BY id', /ORDER BY/],
      ['', /empty/],
    ];
    for (const [q, re] of bad) assert.match(queryProblem(q) ?? '(accepted)', re, q);
  });

  it('parses MAX FILE SIZE within Materialize range, 1024-based', () => {
    assert.deepEqual(parseMaxFileSize('16MB'), { bytes: 16 * 1024 ** 2, literal: '16MB' });
    assert.deepEqual(parseMaxFileSize('4GB'), { bytes: 4 * 1024 ** 3, literal: '4GB' });
    assert.deepEqual(parseMaxFileSize('16384kB'), { bytes: 16 * 1024 ** 2, literal: '16MB' }, "written the way Materialize renders it");
    assert.match((parseMaxFileSize('16384KB') as { problem: string }).problem, /case-sensitive; write "16384kB"/);
    assert.ok('problem' in parseMaxFileSize('15MB'));
    assert.ok('problem' in parseMaxFileSize('5GB'));
    assert.ok('problem' in parseMaxFileSize('256 megabytes'));
  });
});

describe('COPY error classification', () => {
  const ctx = { source: 'public.orders', connectionName: 'aws_conn', targetUri: 's3://b/p/x', format: 'parquet' };
  const type = (e: Parameters<typeof classifyCopyError>[0]) => classifyCopyError(e, ctx).type;

  it("tells a timestamp no longer readable (both of Materialize's wordings) from errors a user must fix", () => {
    assert.equal(type({ code: '22000', message: 'could not find a valid timestamp for the query' }), 'TimestampNotReadableError');
    assert.equal(type({ code: 'XX000', message: 'Timestamp (1651279773000) is not valid for all inputs: [Antichain { elements: [1651279800000] }]' }), 'TimestampNotReadableError');
    assert.equal(type({ code: '22000', message: 'division by zero' }), 'UserFixableError');
  });

  it('makes errors a user must fix non-retryable, with advice', () => {
    const unknown = classifyCopyError({ code: '42P01', message: "unknown catalog item 'nosuch'" }, ctx);
    assert.equal(unknown.type, 'UserFixableError');
    assert.match(unknown.message, /unknown catalog item.*To fix: check that public\.orders exists/);
    assert.equal(type({ code: '58000', message: 'Cannot encode the following columns/types: ["d": Interval]' }), 'UserFixableError');
    assert.equal(type({ code: '58000', message: 'ORDER BY is not supported in SELECT query for COPY statements' }), 'UserFixableError');
    const denied = classifyCopyError({ code: '58000', message: 'AccessDenied error when using DeleteObject' }, ctx);
    assert.equal(denied.type, 'UserFixableError');
    assert.match(denied.message, /IAM role behind connection aws_conn may not write to s3:\/\/b\/p\/x/);
    assert.equal(type({ code: '42601', message: 'syntax error at or near "x"' }), 'UserFixableError');
    assert.match(classifyCopyError({ code: '28P01', message: 'password authentication failed for user "materialize"' }, ctx).message, /MZ_URL/);
  });

  it('tells retry-in-a-fresh-folder cases apart', () => {
    assert.equal(type({ code: '58000', message: 'S3 bucket path is not empty, contains 1 objects' }), 'CopyPathNotEmptyError');
    assert.equal(type({ errno: 'ECONNRESET', message: 'read ECONNRESET' }), 'CopyTransientError');
    assert.equal(type({ message: 'Connection terminated unexpectedly' }), 'CopyTransientError');
    assert.equal(type({ code: '57P01', message: 'terminating connection due to administrator command' }), 'CopyTransientError');
    assert.equal(type({ code: 'XX000', message: 'mz-local: injected failure after 2 files' }), 'CopyFailedError');
    const assume = classifyCopyError({ code: '58000', message: 'AccessDenied: User: arn:aws:iam::123456789012:role/MaterializeConnection is not authorized to perform: sts:AssumeRole' }, ctx);
    assert.equal(assume.type, 'CopyFailedError', 'IAM may still be propagating: worth another attempt');
    assert.match(assume.message, /could not assume the role of connection aws_conn/);
  });
});

describe('Materialize unavailable while connecting (the COPY waits instead of spending an attempt)', () => {
  it('treats refused, reset and shutdown connections as unavailable, and SQL errors as not', () => {
    assert.ok(isConnectionUnavailable({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:6875' }));
    assert.ok(isConnectionUnavailable({ message: 'Connection terminated unexpectedly' }));
    assert.ok(isConnectionUnavailable({ code: '57P01', severity: 'FATAL', message: 'terminating connection due to administrator command' }));
    assert.ok(isConnectionUnavailable({ code: '08006', severity: 'FATAL', message: 'connection failure' }));
    assert.ok(!isConnectionUnavailable({ code: '28P01', severity: 'FATAL', message: 'password authentication failed' }));
    assert.ok(!isConnectionUnavailable({ code: '42P01', severity: 'ERROR', message: "unknown catalog item 'x'" }));
    assert.ok(!isConnectionUnavailable({ code: '3D000', severity: 'FATAL', message: 'database "x" does not exist' }));
  });
});

describe('attempt folders, verification and the manifest', () => {
  const key = 'exports/orders/20240501T000000.000Z/attempt-002';
  const obj = (name: string, size = 10) => ({ key: `${key}/${name}`, size });

  it('classifies Materialize objects and proves only its own leftovers', () => {
    const l = classifyAttemptObjects(key, [
      obj('mz-t7-INCOMPLETE', 0),
      obj('mz-t7-batch-0000-0001.csv'),
      obj('mz-t7-batch-0001-0001.csv'),
      obj('mz-t8-batch-0000-0001.csv'),
      obj('notes.txt'),
      obj('sub/dir.csv'),
    ]);
    assert.equal(attemptState(l), 'incomplete');
    assert.deepEqual(l.others.map((o) => o.key.slice(key.length + 1)), ['notes.txt', 'sub/dir.csv']);
    assert.deepEqual(provenLeftovers(l).map((k) => k.slice(key.length + 1)), [
      'mz-t7-batch-0000-0001.csv',
      'mz-t7-batch-0001-0001.csv',
      'mz-t7-INCOMPLETE',
    ]);
    const published = classifyAttemptObjects(key, [obj('mz-t1-batch-0000-0000.parquet'), obj('manifest.json'), obj('_SUCCESS', 0)]);
    assert.equal(attemptState(published), 'published');
    assert.deepEqual(provenLeftovers(published), []);
    assert.equal(attemptState(classifyAttemptObjects(key, [obj('mz-t1-batch-0000-0000.parquet')])), 'complete-unpublished');
  });

  it('refuses to publish mismatches', () => {
    const listing = classifyAttemptObjects(key, [obj('mz-t1-batch-0000-0000.parquet', 100), obj('mz-t1-batch-0001-0000.parquet', 200)]);
    const footers: FooterFacts[] = listing.dataFiles.map((f, i) => ({ key: f.key, rows: 5 + i, rowGroupRows: 5 + i, schema: [] }));
    assert.deepEqual(verificationProblems({ listing, format: 'parquet', copyRows: 11, footers }), []);
    assert.match(verificationProblems({ listing, format: 'parquet', copyRows: 12, footers }).join(), /footers hold 11 rows but the COPY reported 12/);
    assert.match(verificationProblems({ listing, format: 'parquet', copyRows: 11, footers: footers.slice(1) }).join(), /no footer was read/);
    assert.match(verificationProblems({ listing, format: 'csv', copyRows: 11 }).join(), /not csv/);
    const mixed = classifyAttemptObjects(key, [obj('mz-t1-batch-0000-0001.csv'), obj('mz-t2-batch-0000-0001.csv'), obj('mz-t2-INCOMPLETE')]);
    const problems = verificationProblems({ listing: mixed, format: 'csv', copyRows: 1 }).join('\n');
    assert.match(problems, /sentinel/);
    assert.match(problems, /more than one COPY/);
    assert.match(verificationProblems({ listing: classifyAttemptObjects(key, []), format: 'csv', copyRows: 0 }).join(), /no data files/);
  });

  it('builds a manifest with files, totals, schema and timings', () => {
    const listing = classifyAttemptObjects(key, [obj('mz-t1-batch-0000-0000.parquet', 100), obj('mz-t1-batch-0001-0000.parquet', 200)]);
    const schema = [{ name: 'id', physicalType: 'INT64', repetition: 'REQUIRED' as const }];
    const m = buildManifest({
      exportName: 'orders',
      logicalTime: '2024-05-01T00:00:00.000Z',
      attempt: 2,
      format: 'parquet',
      bucket: 'b',
      attemptKey: key,
      source: { kind: 'object', object: 'public.orders', sha256: 'abc' },
      connection: 'aws_conn',
      materializeProfile: 'default',
      csvHeader: false,
      listing,
      copyRows: 7,
      footers: listing.dataFiles.map((f, i) => ({ key: f.key, rows: 3 + i, rowGroupRows: 3 + i, schema })),
      workflow: { namespace: 'default', workflowId: 'w', runId: 'r', taskQueue: 'q' },
      timings: {
        workflowStartedAt: '2024-05-01T00:00:00.000Z',
        copyStartedAt: '2024-05-01T00:00:01.000Z',
        copyFinishedAt: '2024-05-01T00:00:03.500Z',
        verifiedAt: '2024-05-01T00:00:04.000Z',
        publishedAt: '2024-05-01T00:00:04.100Z',
      },
    });
    assert.deepEqual(m.totals, { files: 2, rows: 7, bytes: 300 });
    assert.deepEqual(m.files.map((f) => [f.uri, f.sizeBytes, f.rows]), [
      [`s3://b/${key}/mz-t1-batch-0000-0000.parquet`, 100, 3],
      [`s3://b/${key}/mz-t1-batch-0001-0000.parquet`, 200, 4],
    ]);
    assert.deepEqual(m.schema, schema);
    assert.equal(m.timings.copySeconds, 2.5);
    assert.equal(m.location.uri, `s3://b/${key}/`);
    assert.deepEqual(m.rowCountVerifiedBy, ['copy-tag', 'parquet-footers']);
  });

  it('keeps claims beside the attempt folders, never under a key prefix Materialize checks for emptiness', () => {
    const lt = 'exports/x/20240501T000000.000Z';
    assert.equal(attemptClaimKey(lt, 7), `${lt}/_claims/attempt-007.json`);
    assert.equal(publicationClaimKey(lt), `${lt}/_claims/publication.json`);
    assert.equal(parseAttemptClaimName('attempt-007.json'), 7);
    assert.equal(parseAttemptClaimName('publication.json'), undefined);
    for (const n of [1, 10, 100]) {
      const target = attemptKey({ bucket: 'b', prefix: 'exports', exportName: 'x' }, '2024-05-01T00:00:00Z', n);
      for (const claim of [attemptClaimKey(lt, 1), attemptClaimKey(lt, n), publicationClaimKey(lt)]) assert.ok(!claim.startsWith(target), `${claim} is under ${target}`);
    }
  });

  it('tells a published export of another source or format apart from the same one', () => {
    const orders = sourceDigest({ kind: 'object', object: 'public.orders' });
    assert.match(orders.sha256, /^[0-9a-f]{64}$/);
    assert.equal(sourceConflict({ source: orders, format: 'csv' }, sourceDigest({ kind: 'object', object: 'public.orders' }), 'csv'), undefined);
    assert.match(
      sourceConflict({ source: orders, format: 'csv' }, sourceDigest({ kind: 'object', object: 'public.order_totals' }), 'csv')!,
      /exported object public\.orders, this run asks for object public\.order_totals/,
    );
    assert.match(sourceConflict({ source: orders, format: 'csv' }, sourceDigest({ kind: 'query', query: 'public.orders' }), 'csv')!, /asks for a query/);
    assert.match(sourceConflict({ source: orders, format: 'csv' }, orders, 'parquet')!, /it is csv, this run asks for parquet/);
  });

  it('never moves _latest.json back to an older logical time', () => {
    assert.equal(shouldReplaceLatest(undefined, { logicalTime: '2024-01-01T00:00:00Z' }), true);
    assert.equal(shouldReplaceLatest({ logicalTime: '2024-02-01T00:00:00Z' }, { logicalTime: '2024-01-01T00:00:00Z' }), false);
    assert.equal(shouldReplaceLatest({ logicalTime: '2024-01-01T00:00:00Z' }, { logicalTime: '2024-01-01T00:00:00Z' }), true);
  });
});

describe('activity heartbeats while waiting', () => {
  it('beats every third of the heartbeat timeout (not at once), repeating the last progress details', async () => {
    // A quiet logger: the failing activity below would otherwise print the SDK's warning.
    const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 300 }, { logger: new DefaultLogger('ERROR') });
    const beats: { at: number; details: unknown }[] = [];
    const t0 = Date.now();
    env.on('heartbeat', (details: unknown) => beats.push({ at: Date.now() - t0, details }));
    const acts = heartbeating({
      async slow(ms: number) {
        await new Promise((r) => setTimeout(r, ms / 2));
        heartbeat({ step: 'half' });
        await new Promise((r) => setTimeout(r, ms / 2));
        return ms;
      },
    });
    assert.equal(acts.slow.name, 'slow');
    assert.equal(await env.run(acts.slow, 1000), 1000);
    const n = beats.length;
    assert.ok(n >= 3 && n <= 8, `${n} beats in 1 s at a 300 ms heartbeat timeout`);
    assert.equal(beats[0].details, undefined);
    assert.ok(beats[0].at >= 150, `the first beat comes after an interval, not at once (${beats[0].at} ms)`);
    assert.deepEqual(beats[n - 1].details, { step: 'half' }, 'interval beats carry the last reported details');
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(beats.length, n, 'no beats after the activity returned');
    // Failures end the beats too, and outside an activity the work just runs.
    await assert.rejects(env.run(heartbeating({ fails: async () => Promise.reject(new Error('no')) }).fails), /no/);
    assert.equal(await heartbeating({ plain: async () => 7 }).plain(), 7);
  });

  it('picks an interval well inside the timeout', () => {
    assert.equal(heartbeatIntervalMs(10_000), 3_333);
    assert.equal(heartbeatIntervalMs(15_000), 5_000);
    assert.equal(heartbeatIntervalMs(60_000), 5_000);
    assert.equal(heartbeatIntervalMs(300), 200);
    assert.equal(heartbeatIntervalMs(undefined), 5_000);
  });
});
