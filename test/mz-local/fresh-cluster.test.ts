/**
 * mz-local starts an empty store from a cached fresh cluster (local/mz-local/engine/fresh-cluster.ts) instead of
 * running initdb each time; a cache it cannot load is dropped and initdb runs, so a bad cache never breaks a start.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine } from '../../local/mz-local/engine/engine';
import { freshClusterPath } from '../../local/mz-local/engine/fresh-cluster';
import { createLogger } from '../../local/mz-local/log';

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

  it('MZ_LOCAL_CACHE_DIR=off turns the cache off', () => {
    process.env.MZ_LOCAL_CACHE_DIR = 'off';
    assert.equal(freshClusterPath(), null);
  });
});
