/**
 * mz-local starts an empty store from a cached fresh cluster (local/mz-local/engine/fresh-cluster.ts) instead of
 * running initdb each time; a cache it cannot load is dropped and initdb runs, so a bad cache never breaks a start.
 * Starts share the cache folder, at once too, and clean up after starts killed while writing it.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { Engine } from '../../local/mz-local/engine/engine';
import { freshCluster, freshClusterPath } from '../../local/mz-local/engine/fresh-cluster';
import { createLogger } from '../../local/mz-local/log';

const ROOT = path.resolve(__dirname, '..', '..');

/** The pid of a process that has exited: the writer of a partial tarball that was killed mid-write. */
function deadPid(): number {
  const pid = spawnSync(process.execPath, ['-e', '']).pid;
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
  return pid;
}

/** A command-line mz-local on a free port: resolves once it prints its address, with its output so far. */
async function startProcess(env: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; port: number; output: () => string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'local/mz-local/main.ts', '--port', '0', '--workers', '1'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 90_000;
  for (;;) {
    const port = /mz-local listening on 127\.0\.0\.1:(\d+)/.exec(out)?.[1];
    if (port) return { proc, port: Number(port), output: () => out };
    if (Date.now() > deadline || proc.exitCode !== null) {
      proc.kill('SIGKILL');
      throw new Error(`mz-local did not start:\n${out}`);
    }
    await sleep(50);
  }
}

describe('mz-local fresh cluster cache', function () {
  this.timeout(120_000);
  let dir: string;
  let saved: string | undefined;
  const warnings: string[] = [];
  const log = createLogger({ level: 'warn', write: (line) => warnings.push(line) });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mz-local-cache-'));
    saved = process.env.MZ_LOCAL_CACHE_DIR;
    process.env.MZ_LOCAL_CACHE_DIR = path.join(dir, 'cache');
    warnings.length = 0;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.MZ_LOCAL_CACHE_DIR;
    else process.env.MZ_LOCAL_CACHE_DIR = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function databaseOf(engine: Engine): Promise<string> {
    return (await engine.db.query<{ d: string }>('SELECT current_database() AS d')).rows[0].d;
  }

  // One initdb for the whole spec (about 5 s of CPU): the bad cache's start makes the cache the later starts load.
  it('a cache that does not load is made again with a warning; later starts, in memory or on disk, load it and keep their own data', async () => {
    const file = freshClusterPath()!;
    assert.equal(path.dirname(file), path.join(dir, 'cache'));
    assert.match(path.basename(file), /^fresh-cluster-pglite-\d+\.\d+\.\d+\.tar$/);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'not a tarball');
    const first = await Engine.open({ dataDir: path.join(dir, 'first'), log });
    assert.equal(await databaseOf(first), 'materialize');
    await first.db.exec('CREATE TABLE only_in_first (x int)');
    await first.close();
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /the cached fresh cluster did not load .*making it again/);
    const written = fs.statSync(file);
    assert.ok(written.size > 1_000_000, `the cached cluster is ${written.size} bytes`);
    warnings.length = 0;

    const inMemory = await Engine.open({ log });
    assert.equal(await databaseOf(inMemory), 'materialize');
    // Loaded from the fresh cluster, not from the first engine's state.
    assert.equal((await inMemory.db.query(`SELECT 1 FROM pg_class WHERE relname = 'only_in_first'`)).rows.length, 0);
    await inMemory.close();

    const onDisk = path.join(dir, 'data');
    const second = await Engine.open({ dataDir: onDisk, log });
    assert.equal(await databaseOf(second), 'materialize');
    await second.db.exec('CREATE TABLE kept (x int)');
    await second.close();
    assert.ok(fs.existsSync(path.join(onDisk, 'PG_VERSION')));
    assert.equal(fs.statSync(file).mtimeMs, written.mtimeMs, 'a cache that loads is not rewritten');

    // A store that is not empty is opened as it is: the cache is not loaded over it.
    const reopened = await Engine.open({ dataDir: onDisk, log });
    assert.equal((await reopened.db.query(`SELECT 1 FROM pg_class WHERE relname = 'kept'`)).rows.length, 1);
    await reopened.close();
    assert.deepEqual(warnings, []);
  });

  it('starts at once on an empty cache all come up and remove dead starts\' partials; later starts load the cache, or make it again once truncated', async () => {
    const file = freshClusterPath()!;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const dead = `${file}.${deadPid()}.partial`;
    const live = `${file}.${process.pid}.partial`; // this mocha process: to the starts, a concurrent start writing
    fs.writeFileSync(dead, 'killed mid-write');
    fs.writeFileSync(live, 'being written');
    const env = { ...process.env, MZ_LOCAL_CACHE_DIR: path.dirname(file), MZ_LOCAL_LOG_LEVEL: 'info' };
    const starts: ChildProcess[] = [];
    try {
      const servers = await Promise.all(
        [1, 2].map(async () => {
          const s = await startProcess(env);
          starts.push(s.proc);
          return s;
        }),
      );
      for (const { port, output } of servers) {
        const c = new Client({ host: '127.0.0.1', port, user: 'materialize', database: 'materialize' });
        await c.connect();
        assert.equal((await c.query('SELECT current_database() AS d')).rows[0].d, 'materialize');
        await c.end();
        assert.doesNotMatch(output(), /WARN|ERROR/, output());
      }
      for (const { proc, output } of servers) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        assert.equal(await exited, 0, output());
      }
    } finally {
      for (const proc of starts) if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    assert.deepEqual(fs.readdirSync(path.dirname(file)).sort(), [path.basename(file), path.basename(live)].sort());

    // A later start loads that cache as it is.
    const cached = fs.statSync(file);
    const later = await Engine.open({ log });
    assert.equal(await databaseOf(later), 'materialize');
    await later.close();
    assert.deepEqual(warnings, []);
    assert.equal(fs.statSync(file).mtimeMs, cached.mtimeMs, 'a cache that loads is not rewritten');

    // A truncated cache (say, a crash before the renamed file reached the disk) is made again.
    fs.truncateSync(file, Math.floor(cached.size / 2));
    const afterTruncation = await Engine.open({ log });
    assert.equal(await databaseOf(afterTruncation), 'materialize');
    await afterTruncation.close();
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /the cached fresh cluster did not load .*making it again/);
    assert.equal(fs.statSync(file).size, cached.size);
  });

  it('a start removes partial tarballs whose writer is gone, is itself, or is an hour old; a live writer\'s stays', async () => {
    const file = freshClusterPath()!;
    const folder = path.dirname(file);
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(file, 'the cache, as it is'); // read, not loaded: freshCluster returns it without initdb
    const other = path.join(folder, 'fresh-cluster-pglite-0.0.1.tar'); // another PGlite build's
    const keep = [file, other, `${other}.${process.ppid}.partial`, path.join(folder, 'notes.partial')];
    const remove = [`${file}.${deadPid()}.partial`, `${other}.${deadPid()}.partial`, `${file}.${process.pid}.partial`, `${file}.${process.ppid}.partial`];
    for (const f of [...keep, ...remove]) if (f !== file) fs.writeFileSync(f, 'x');
    // The parent process is alive, but this partial of it is two hours old: its pid was reused.
    const old = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(`${file}.${process.ppid}.partial`, old, old);

    const tarball = await freshCluster('materialize', log);
    assert.equal(await tarball!.text(), 'the cache, as it is');
    assert.deepEqual(fs.readdirSync(folder).sort(), keep.map((f) => path.basename(f)).sort());
    assert.deepEqual(warnings, []);
  });

  it('MZ_LOCAL_CACHE_DIR=off turns the cache off', () => {
    process.env.MZ_LOCAL_CACHE_DIR = 'off';
    assert.equal(freshClusterPath(), null);
  });
});
