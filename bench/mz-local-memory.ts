/**
 * mz-local memory benchmark: peak resident memory of the mz-local process while it exports 1,000,000 rows
 * (and, for comparison, 250,000 and 500,000 rows) to S3 as Parquet, with the default MAX FILE SIZE (256MB)
 * and with the smallest (16MB, run first, from the lowest baseline). Parquet row groups are a fifth of MAX FILE SIZE and a row group is encoded
 * in memory, so the bound on memory is set by MAX FILE SIZE, not by the number of rows. mz-local runs as its own process (the
 * CLI), against a private moto server; memory is read from /proc/<pid>/status (VmRSS sampled every 25 ms,
 * and VmHWM, the kernel's high-water mark, reset before each export).
 *
 *   npx tsx bench/mz-local-memory.ts [--rows 1000000]
 *
 * Prints a table and writes bench/results/mz-local-memory.json.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { Client } from 'pg';
import { freePort, getObject, listKeys, setupExport, startMoto, type Moto } from '../test/mz-local/helpers';
import { formatBytes, round, table } from './stats';

const ROOT = path.resolve(__dirname, '..');

function readStatus(pid: number): { rss: number; hwm: number } {
  const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

async function startMzLocalProcess(moto: Moto): Promise<{ pid: number; port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'local/mz-local/main.ts', '--port', String(port), '--aws-endpoint', moto.endpoint, '--workers', '2'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MZ_LOCAL_LOG_LEVEL: 'warn' },
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 60_000;
  while (!out.includes('mz-local listening on')) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`mz-local did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: proc.pid!,
    port,
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

interface Run {
  maxFileSize: string;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  files: number;
  bytes: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
  peakAboveBaselineBytes: number;
  hwmBytes: number | null;
}

async function main(): Promise<void> {
  const rowsArg = process.argv.indexOf('--rows');
  const total = rowsArg > 0 ? Number(process.argv[rowsArg + 1]) : 1_000_000;
  const sizes = [...new Set([Math.round(total / 4), Math.round(total / 2), total])];
  const moto = await startMoto();
  const mz = await startMzLocalProcess(moto);
  const client = new Client({ host: '127.0.0.1', port: mz.port, user: 'materialize', database: 'materialize' });
  await client.connect();
  const runs: Run[] = [];
  try {
    const startupRss = readStatus(mz.pid).rss;
    const t0 = Date.now();
    await client.query(`CREATE TABLE bench_orders AS
      SELECT g::bigint AS id,
             'customer-' || (g % 5000) AS customer,
             (g % 100000) / 100.0::numeric(12,2) AS amount,
             TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 second' AS ordered_at,
             g % 3 = 0 AS shipped,
             md5(g::text) AS note
      FROM generate_series(1, ${total}) g`);
    const loadSeconds = (Date.now() - t0) / 1000;
    const loadedRss = readStatus(mz.pid).rss;
    const s = await setupExport(moto, client);

    for (const maxFileSize of ['16MB', '256MB'])
    for (const rows of sizes) {
      const target = `${s.prefix}/bench-${maxFileSize}-${rows}`;
      const hwmReset = resetPeak(mz.pid);
      const before = readStatus(mz.pid).rss;
      let peak = before;
      const sampler = setInterval(() => {
        try {
          peak = Math.max(peak, readStatus(mz.pid).rss);
        } catch {
          // process gone
        }
      }, 25);
      const start = Date.now();
      const r = await client.query(
        `COPY (SELECT * FROM bench_orders WHERE id <= ${rows}) TO 's3://${s.bucket}/${target}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet', MAX FILE SIZE = '${maxFileSize}')`,
      );
      const seconds = (Date.now() - start) / 1000;
      clearInterval(sampler);
      const status = readStatus(mz.pid);
      peak = Math.max(peak, status.rss);
      if (r.rowCount !== rows) throw new Error(`COPY returned ${r.rowCount}, expected ${rows}`);
      const keys = (await listKeys(moto, s.bucket, target + '/')).filter((k) => k.endsWith('.parquet'));
      let bytes = 0;
      let counted = 0;
      for (const k of keys) {
        const body = await getObject(moto, s.bucket, k);
        bytes += body.length;
        counted += Number(parquetMetadata(body.buffer.slice(body.byteOffset, body.byteOffset + body.length) as ArrayBuffer).num_rows);
      }
      if (counted !== rows) throw new Error(`the files hold ${counted} rows, expected ${rows}`);
      runs.push({
        maxFileSize,
        rows,
        seconds: round(seconds, 2),
        rowsPerSecond: Math.round(rows / seconds),
        files: keys.length,
        bytes,
        rssBeforeBytes: before,
        peakRssBytes: peak,
        peakAboveBaselineBytes: peak - before,
        hwmBytes: hwmReset ? Math.max(status.hwm, peak) : null,
      });
    }

    const header = ['MAX FILE SIZE', 'rows', 'time', 'rows/s', 'files', 'Parquet bytes', 'RSS before', 'peak RSS', 'peak - before', 'VmHWM'];
    const body = runs.map((r) => [
      r.maxFileSize,
      r.rows.toLocaleString('en-US'),
      `${r.seconds} s`,
      r.rowsPerSecond.toLocaleString('en-US'),
      String(r.files),
      formatBytes(r.bytes),
      formatBytes(r.rssBeforeBytes),
      formatBytes(r.peakRssBytes),
      formatBytes(r.peakAboveBaselineBytes),
      r.hwmBytes === null ? 'n/a' : formatBytes(r.hwmBytes),
    ]);
    process.stdout.write(`\nmz-local memory during COPY ... TO S3 (FORMAT parquet, 2 batches; row groups are a fifth of MAX FILE SIZE)\n`);
    process.stdout.write(`mz-local RSS after start ${formatBytes(startupRss)}, after loading ${total.toLocaleString('en-US')} rows ${formatBytes(loadedRss)} (load ${loadSeconds} s)\n\n`);
    process.stdout.write(table(header, body) + '\n');
    const result = {
      benchmark: 'mz-local-memory',
      date: new Date().toISOString(),
      node: process.version,
      format: 'parquet',
      workers: 2,
      table: { rows: total, columns: ['bigint', 'text', 'numeric(12,2)', 'timestamptz', 'boolean', 'text'] },
      startupRssBytes: startupRss,
      loadedRssBytes: loadedRss,
      runs,
    };
    fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
    const file = path.join(ROOT, 'bench', 'results', 'mz-local-memory.json');
    fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(`\nwrote ${path.relative(ROOT, file)}\n`);
  } finally {
    await client.end().catch(() => undefined);
    await mz.stop();
    await moto.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
