/**
 * bulkExport end to end on the local stack (Temporal dev server, moto, mz-local with its sample data): CSV and
 * Parquet exports of a table, a view, a materialized view and a query, read back from S3 and compared with the
 * source rows; the manifest, _SUCCESS and _latest.json; a re-run of the same logical time; the CLI.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { TemporalScheduledStartTime } from '../../common/search-attributes';
import { MockActivityEnvironment } from '@temporalio/testing';
import { PROJECT_ROOT } from '../../local/stack';
import { createS3ExportActivities, rangeReader } from '../../activities/export/s3-export';
import type { FinishInput, FinishResult } from '../../common/export/activities';
import { createAwsClients, destroyAwsClients } from '../../platform/aws-clients';
import { loadConfig } from '../../platform/config';
import type { ExportManifest } from '../../common/export/manifest';
import { createMaterializeConnector, type MaterializeConnector } from '../../platform/materialize';
import { sessionFacts, useCluster } from '../../activities/export/materialize-copy';
import { FOOTER_GUESS_BYTES, readParquetFooter } from '../../activities/export/parquet-footer';
import { renderLogicalTime } from '../../common/export/paths';
import type { BulkExportResult } from '../../common/export/types';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { assertSameRows, getBytes, getJson, listKeys, readCsvRows, readManifest, readParquetRows, sourceRows } from '../helpers/export-readback';
import { eventually, exportFailure, exportInput, progressOf, publishedKeys, runExport, startExport } from '../helpers/export-run';
import type { TestStack } from '../helpers/stack';
import { canonicalParquetRow, canonicalTextRow } from '../helpers/export-values';
import { bulkExport } from '../../workflows';

describe('export: bulkExport on the local stack', function () {
  let stack: TestStack;
  let conn: TestAwsConnection;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));

  it('exports the sample table as CSV: rows match the source; manifest, _SUCCESS and _latest.json are published', async () => {
    const input = exportInput(conn, { object: 'public.orders', format: 'csv', logicalTime: '2024-05-01T00:00:00Z' });
    const handle = await startExport(stack, input);
    const result = (await handle.result()) as BulkExportResult;

    const attemptPath = `${conn.prefix}/${input.exportName}/20240501T000000.000Z/attempt-001/`;
    assert.equal(result.outputPath, `s3://${conn.bucket}/${attemptPath}`);
    assert.equal(result.manifest, `s3://${conn.bucket}/${attemptPath}manifest.json`);
    assert.equal(result.logicalTime, '2024-05-01T00:00:00.000Z');
    assert.equal(result.attempt, 1);
    assert.equal(result.reusedExisting, false);
    assert.equal(result.latestUpdated, true);

    const source = await sourceRows(stack, 'SELECT * FROM public.orders');
    assert.equal(result.rows, source.rows.length);
    const manifest = await readManifest(stack, result.manifest);
    const csv = await readCsvRows(stack, manifest);
    // CSV holds the text forms, NULL as an empty field; jsonb is compared as JSON (Materialize prints it compactly).
    const canonical = canonicalTextRow(source.types);
    assertSameRows(csv.map((r) => canonical(r.map((v) => (v === '' ? null : v)))), source.rows.map(canonical));

    // The manifest lists exactly the data files, with their sizes, and says where it came from.
    const keys = await listKeys(stack, conn.bucket, attemptPath);
    const dataKeys = keys.filter((k) => /mz-.*-batch-\d{4}-\d{4}\.csv$/.test(k));
    assert.deepEqual(manifest.files.map((f) => f.key).sort(), dataKeys);
    assert.deepEqual(keys.filter((k) => !dataKeys.includes(k)).map((k) => path.basename(k)).sort(), ['_SUCCESS', 'manifest.json']);
    assert.equal(manifest.totals.rows, source.rows.length);
    assert.equal(manifest.totals.files, dataKeys.length);
    assert.equal(manifest.totals.bytes, manifest.files.reduce((s, f) => s + f.sizeBytes, 0));
    assert.equal(result.bytes, manifest.totals.bytes);
    assert.deepEqual(manifest.source.kind, 'object');
    assert.match(manifest.source.sha256, /^[0-9a-f]{64}$/);
    assert.equal(manifest.connection, conn.connectionName);
    assert.equal(manifest.workflow.workflowId, handle.workflowId);
    assert.equal(manifest.workflow.runId, result.runId);
    assert.deepEqual(manifest.rowCountVerifiedBy, ['copy-tag']);
    assert.ok(Date.parse(manifest.timings.copyFinishedAt) >= Date.parse(manifest.timings.copyStartedAt));

    const latest = await getJson<{ manifest: string; logicalTime: string }>(stack, conn.bucket, `${conn.prefix}/${input.exportName}/_latest.json`);
    assert.equal(latest.manifest, result.manifest);
    assert.equal(latest.logicalTime, '2024-05-01T00:00:00.000Z');

    // Runs can be found by export name, logical time and connection; progress reads as done.
    const described = await handle.describe();
    assert.equal(described.typedSearchAttributes.getAll().find((p) => p.key.name === 'MzExportName')?.value, input.exportName);
    assert.equal(described.typedSearchAttributes.getAll().find((p) => p.key.name === 'MzConnection')?.value, conn.connectionName);
    const lt = described.typedSearchAttributes.getAll().find((p) => p.key.name === 'MzLogicalTime')?.value as Date;
    assert.equal(new Date(lt).toISOString(), '2024-05-01T00:00:00.000Z');
    const progress = await progressOf(handle);
    assert.equal(progress.phase, 'succeeded');
    assert.equal(progress.rows, source.rows.length);
    assert.deepEqual(progress.attempts.map((a) => a.outcome), ['succeeded']);
  });

  it('exports the sample view as Parquet: footer row counts, schema and rows match the source', async () => {
    const input = exportInput(conn, { object: 'public.order_totals', format: 'parquet' });
    const result = await runExport(stack, input);
    const source = await sourceRows(stack, 'SELECT * FROM public.order_totals');
    const manifest = await readManifest(stack, result.manifest);
    assert.equal(manifest.format, 'parquet');
    assert.deepEqual(manifest.rowCountVerifiedBy, ['copy-tag', 'parquet-footers']);
    assert.equal(manifest.files.reduce((s, f) => s + (f.rows ?? 0), 0), source.rows.length);
    assert.deepEqual(manifest.schema?.map((c) => c.name), source.columns);
    const rows = await readParquetRows(stack, manifest);
    assertSameRows(rows.map((r) => canonicalParquetRow(r, source.columns, source.types)), source.rows.map(canonicalTextRow(source.types)));
  });

  it('exports the whole sample table as Parquet with every type compared (numeric, timestamptz, uuid, jsonb, text[] and NULLs)', async () => {
    const input = exportInput(conn, { object: 'public.orders', format: 'parquet' });
    const result = await runExport(stack, input);
    const source = await sourceRows(stack, 'SELECT * FROM public.orders');
    const manifest = await readManifest(stack, result.manifest);
    const rows = await readParquetRows(stack, manifest);
    assert.equal(rows.length, source.rows.length);
    assertSameRows(rows.map((r) => canonicalParquetRow(r, source.columns, source.types)), source.rows.map(canonicalTextRow(source.types)));
  });

  it('exports a query as Parquet and the materialized view as CSV with a header row', async () => {
    const query = "SELECT order_id, customer, quantity * 2 AS doubled FROM public.orders WHERE shipped AND customer <> 'it''s'";
    const q = await runExport(stack, exportInput(conn, { query, format: 'parquet' }));
    const qSource = await sourceRows(stack, query);
    const qManifest = await readManifest(stack, q.manifest);
    assert.equal(qManifest.source.kind, 'query');
    assert.equal(q.rows, qSource.rows.length);
    const qRows = await readParquetRows(stack, qManifest);
    assertSameRows(qRows.map((r) => canonicalParquetRow(r, qSource.columns, qSource.types)), qSource.rows.map(canonicalTextRow(qSource.types)));

    const mv = await runExport(stack, exportInput(conn, { object: 'public.large_orders', format: 'csv', csvHeader: true }));
    const mvSource = await sourceRows(stack, 'SELECT * FROM public.large_orders');
    const mvManifest = await readManifest(stack, mv.manifest);
    assert.deepEqual(mvManifest.csv, { header: true });
    const first = await stack.aws.s3.send(new GetObjectCommand({ Bucket: conn.bucket, Key: mvManifest.files[0].key }));
    assert.equal((await first.Body!.transformToString()).split('\n')[0], mvSource.columns.join(','));
    const csv = await readCsvRows(stack, mvManifest);
    const canonical = canonicalTextRow(mvSource.types);
    assertSameRows(csv.map((r) => canonical(r.map((v) => (v === '' ? null : v)))), mvSource.rows.map(canonical));
  });

  it("takes the version and the cluster from the session's ParameterStatus messages, and queries for them only when the server reports none", async () => {
    const connector = createMaterializeConnector(loadConfig(stack.env));
    const client = await connector.connect();
    const sent: string[] = [];
    const query = client.query.bind(client) as (sql: string) => Promise<unknown>;
    (client as unknown as { query: (sql: string) => Promise<unknown> }).query = (sql: string) => (sent.push(sql), query(sql));
    try {
      await useCluster(client, 'quickstart');
      const facts = await sessionFacts(client, 'SELECT * FROM public.orders', undefined);
      assert.equal(facts.cluster, 'quickstart');
      assert.equal(facts.version, (await client.query('SELECT mz_version() AS v')).rows[0].v);
      assert.match(facts.timestamp, /^\d+$/);
      assert.deepEqual(sent.slice(0, -1).filter((q) => /mz_version|SHOW cluster/i.test(q)), [], 'facts the session reported are not asked for');
    } finally {
      await client.end();
    }
    // A client that did not record the reports (not made by the connector) asks.
    const plain = await stack.mz();
    try {
      const facts = await sessionFacts(plain, 'SELECT * FROM public.orders', '1');
      assert.deepEqual([facts.timestamp, facts.cluster], ['1', 'quickstart']);
      assert.match(facts.version, /^v\d+\.\d+/);
    } finally {
      await plain.end();
    }
  });

  it('records the Materialize timestamp, version and cluster; runs on a named cluster AS OF a given timestamp; an unknown cluster fails before any write', async () => {
    const cluster = `export_test_${Date.now()}`;
    const mz = await stack.mz();
    try {
      await mz.query(`CREATE CLUSTER ${cluster} (SIZE = '25cc')`);
      const asOf = String((await mz.query('SELECT mz_now()::text AS t')).rows[0].t);
      const given = await runExport(stack, exportInput(conn, { object: 'public.order_totals', format: 'csv', cluster, asOf }));
      const gm = await readManifest(stack, given.manifest);
      assert.equal(gm.materialize?.timestamp, asOf);
      assert.equal(gm.materialize?.cluster, cluster);
      assert.match(gm.materialize?.version ?? '', /^v\d+\.\d+/);

      // Without asOf the activity picks the timestamp Materialize would read at, and the COPY reads AS OF it.
      const picked = await runExport(stack, exportInput(conn, { object: 'public.order_totals', format: 'parquet' }));
      const pm = await readManifest(stack, picked.manifest);
      assert.match(pm.materialize?.timestamp ?? '', /^\d+$/);
      assert.ok(BigInt(pm.materialize!.timestamp) >= BigInt(asOf));
      const log = await mz.query(
        `SELECT cluster_name, execution_timestamp::text AS ts, sql FROM mz_internal.mz_recent_activity_log WHERE sql LIKE 'COPY%' ORDER BY began_at DESC LIMIT 10`,
      );
      const copyOf = (m: typeof gm) => log.rows.find((r) => String(r.sql).includes(m.location.key.replace(/\/$/, '')));
      assert.deepEqual([copyOf(gm)?.cluster_name, copyOf(gm)?.ts], [cluster, asOf], 'the COPY ran on the cluster, AS OF the timestamp');
      assert.deepEqual([copyOf(pm)?.cluster_name, copyOf(pm)?.ts], [pm.materialize!.cluster, pm.materialize!.timestamp]);

      const input = exportInput(conn, { object: 'public.order_totals', format: 'csv', cluster: 'no_such_cluster' });
      const failure = await exportFailure(await startExport(stack, input));
      assert.equal(failure.type, 'UserFixableError');
      assert.match(failure.message, /cluster "no_such_cluster" does not exist\. To fix: name one of the clusters SHOW CLUSTERS lists/);
      assert.deepEqual(await listKeys(stack, conn.bucket, `${conn.prefix}/${input.exportName}/`), [], 'nothing was written');
    } finally {
      await mz.query(`DROP CLUSTER IF EXISTS ${cluster}`).catch(() => undefined);
      await mz.end();
    }
  });

  it('returns the already published manifest when the same export and logical time run again, exporting nothing', async () => {
    const input = exportInput(conn, { object: 'public.order_totals', format: 'csv', logicalTime: '2024-06-01T12:00:00Z' });
    const first = await runExport(stack, input);
    const keysBefore = await listKeys(stack, conn.bucket, `${conn.prefix}/${input.exportName}/`);
    const second = await runExport(stack, input);
    assert.equal(second.reusedExisting, true);
    assert.equal(second.manifest, first.manifest);
    assert.equal(second.attempt, 1);
    assert.equal(second.rows, first.rows);
    assert.deepEqual(second.attempts, []);
    const keysAfter = await listKeys(stack, conn.bucket, `${conn.prefix}/${input.exportName}/`);
    assert.deepEqual(keysAfter, keysBefore);
    // A backfill of an earlier logical time publishes its own attempt but does not move _latest.json back.
    const older = await runExport(stack, { ...input, logicalTime: '2024-05-31T12:00:00Z' });
    assert.equal(older.latestUpdated, false);
    const latest = await getJson<{ manifest: string }>(stack, conn.bucket, `${conn.prefix}/${input.exportName}/_latest.json`);
    assert.equal(latest.manifest, first.manifest);
    assert.equal((await publishedKeys(stack, input)).filter((k) => k.endsWith('manifest.json')).length, 2);
  });

  it("takes a Temporal Schedule's fire time as the logical time when the input has none", async () => {
    const input = exportInput(conn, { object: 'public.order_totals', format: 'csv' });
    const schedule = await stack.temporal.schedule.create({
      scheduleId: `export-test-${input.exportName}`,
      spec: { intervals: [{ every: '1 day' }] },
      action: { type: 'startWorkflow', workflowType: bulkExport, taskQueue: stack.taskQueue, args: [input] },
      state: { paused: true },
    });
    try {
      await schedule.trigger();
      const started = await eventually('the schedule to start a run', async () => (await schedule.describe()).info.recentActions[0]?.action);
      const run = stack.temporal.workflow.getHandle(started.workflow.workflowId, started.workflow.firstExecutionRunId);
      const result = (await run.result()) as BulkExportResult;
      const scheduledAt = (await run.describe()).typedSearchAttributes.get(
        TemporalScheduledStartTime,
      );
      assert.ok(scheduledAt, 'the run carries TemporalScheduledStartTime');
      assert.equal(result.logicalTime, new Date(scheduledAt).toISOString());
      assert.ok(result.outputPath.includes(`/${renderLogicalTime(scheduledAt)}/attempt-001/`), result.outputPath);
    } finally {
      await schedule.delete();
    }
  });

  it('CLI: `export --json` starts the workflow, waits and prints the result; bad input fails before starting', () => {
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'client', 'main.ts'), ...args], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, ...stack.env },
        encoding: 'utf8',
        timeout: 90_000,
      });
    const name = `cli-${Date.now()}`;
    const ok = cli([
      'export', '--name', name, '--connection', conn.connectionName, '--object', 'public.order_totals',
      '--to', `s3://${conn.bucket}/${conn.prefix}`, '--format', 'csv', '--logical-time', '2024-07-01T00:00:00Z', '--json',
    ]);
    assert.equal(ok.status, 0, ok.stderr);
    const result = JSON.parse(ok.stdout) as BulkExportResult;
    assert.equal(result.exportName, name);
    assert.equal(result.manifest, `s3://${conn.bucket}/${conn.prefix}/${name}/20240701T000000.000Z/attempt-001/manifest.json`);
    assert.match(ok.stderr, /started export-.*20240701T000000\.000Z/);

    const bad = cli(['export', '--name', name, '--connection', conn.connectionName, '--object', 'x', '--query', 'SELECT 1', '--to', `s3://${conn.bucket}/${conn.prefix}`]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /give exactly one: an object .* or a SELECT query/);
  });

  it('reads each Parquet footer once, from its tail, in the one activity that verifies and writes the manifest', async () => {
    // A COPY of our own into a fresh attempt folder, finished by the activity in `stage` mode (verify and write
    // manifest.json, no claim or _SUCCESS), on an S3 client that records every GetObject: key, range and bytes.
    const loc = { bucket: conn.bucket, prefix: conn.prefix, exportName: `footers-${Date.now()}` };
    const logicalTime = '2024-09-01T00:00:00.000Z';
    const attemptKey = `${conn.prefix}/${loc.exportName}/${renderLogicalTime(logicalTime)}/attempt-001`;
    const mz = await stack.mz();
    let rows: number;
    try {
      const res = await mz.query(`COPY public.orders TO 's3://${conn.bucket}/${attemptKey}' WITH (AWS CONNECTION = ${conn.connectionName}, FORMAT = 'parquet')`);
      rows = res.rowCount ?? 0;
    } finally {
      await mz.end();
    }
    const aws = createAwsClients(loadConfig(stack.env).aws);
    const gets: { key: string; range?: string; bytes: number }[] = [];
    aws.s3.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === 'GetObjectCommand') {
          const input = args.input as { Key: string; Range?: string };
          gets.push({ key: input.Key, range: input.Range, bytes: Number((out.output as { ContentLength?: number }).ContentLength ?? 0) });
        }
        return out;
      },
      { step: 'initialize', name: 'countGets' },
    );
    const acts = createS3ExportActivities({ aws, materialize: {} as MaterializeConnector });
    try {
      const now = new Date().toISOString();
      const input: FinishInput = {
        bucket: conn.bucket,
        logicalTimeKey: attemptKey.slice(0, -'/attempt-001'.length),
        attempt: 1,
        copyRows: rows,
        commit: 'stage',
        completion: { pollInitialMs: 100, pollMaxMs: 400, timeoutSeconds: 20 },
        manifest: {
          exportName: loc.exportName,
          logicalTime,
          format: 'parquet',
          source: { kind: 'object', object: 'public.orders' },
          connection: conn.connectionName,
          materializeProfile: 'default',
          csvHeader: false,
          workflow: { namespace: 'default', workflowId: 'w', runId: 'r', taskQueue: 'q' },
          timings: { workflowStartedAt: now, copyStartedAt: now, copyFinishedAt: now },
        },
      };
      const finished = (await new MockActivityEnvironment().run(acts.finishExportAttempt, input)) as FinishResult;
      assert.equal(finished.outcome, 'staged');
      const manifest = await readManifest(stack, `s3://${conn.bucket}/${attemptKey}/manifest.json`);
      assert.equal(manifest.totals.rows, rows);
      assert.equal(manifest.files.reduce((s, f) => s + (f.rows ?? 0), 0), rows);
      assert.ok(Date.parse(manifest.timings.publishedAt) >= Date.parse(manifest.timings.verifiedAt));
      assert.deepEqual(
        (await listKeys(stack, conn.bucket, `${attemptKey}/`)).filter((k) => !/mz-.*-batch-/.test(k)),
        [`${attemptKey}/manifest.json`],
        'stage mode writes no _SUCCESS',
      );

      // Per file: at most two ranged GETs, at most max(guess, footer + 8) bytes, never the whole of a larger file.
      const lines: string[] = [];
      let exported = 0;
      for (const f of manifest.files) {
        const bytes = await getBytes(stack, conn.bucket, f.key);
        const footer = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 4).getUint32(0, true);
        const mine = gets.filter((g) => g.key === f.key);
        const read = mine.reduce((s, g) => s + g.bytes, 0);
        const bound = Math.max(Math.min(FOOTER_GUESS_BYTES, f.sizeBytes), footer + 8);
        assert.ok(mine.length >= 1 && mine.length <= 2, `${f.key}: ${mine.length} GETs`);
        assert.ok(mine.every((g) => g.range?.startsWith('bytes=')), `${f.key}: a GET without a range`);
        assert.ok(read <= bound, `${f.key}: read ${read} bytes, more than max(guess, footer ${footer} + 8) = ${bound}`);
        if (f.sizeBytes > bound) assert.ok(read < f.sizeBytes, `${f.key}: read whole`);
        exported += f.sizeBytes;
        lines.push(`${f.key.split('/').pop()}: ${f.sizeBytes} bytes, footer ${footer} bytes, read ${read} bytes in ${mine.length} GET(s)`);
      }
      assert.deepEqual(gets.map((g) => g.key).filter((k) => !manifest.files.some((f) => f.key === k)), [], 'only footers were read');
      console.log(`      ${lines.join('\n      ')}\n      bytes read from S3 for ${exported} bytes exported: ${gets.reduce((s, g) => s + g.bytes, 0)}`);

      // A file rewritten after it was listed (same size, other content): the footer read of the listed version
      // fails instead of reading the new one, so verification never mixes versions.
      const victim = manifest.files[0];
      const changed = (await getBytes(stack, conn.bucket, victim.key)).slice();
      changed[4] ^= 0xff; // a data page byte, not the footer
      await stack.aws.s3.send(new PutObjectCommand({ Bucket: conn.bucket, Key: victim.key, Body: changed }));
      await assert.rejects(
        readParquetFooter(victim.sizeBytes, rangeReader(aws.s3, conn.bucket, { key: victim.key, size: victim.sizeBytes, etag: victim.etag })),
        (e: Error) => e.name === 'PreconditionFailed' || /412|precondition/i.test(e.message),
      );
    } finally {
      destroyAwsClients(aws);
    }
  });
});
