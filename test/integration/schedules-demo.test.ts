/**
 * The README's first command: the demo runs end to end on its own local stack (free ports), shows every step,
 * prints the S3 objects, a manifest and the Web UI links, and leaves no process or state behind.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive, isPortOpen } from '../../local/processes';
import { PROJECT_ROOT } from '../../local/stack';

describe('npm run demo', function () {
  this.timeout(240_000);

  it('runs every step on its own stack in well under a few minutes, then stops everything it started', async () => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'client', 'main.ts'), 'demo', '--random-ports'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const seconds = (Date.now() - started) / 1000;
    assert.equal(code, 0, out);
    assert.ok(seconds < 180, `took ${seconds} s`);

    for (let i = 1; i <= 8; i++) assert.match(out, new RegExp(`\\[demo ${i}/8\\]`), `step ${i} printed`);
    assert.match(out, /public\.orders → 1000 rows in \d+ csv file\(s\)/);
    assert.match(out, /public\.large_orders → \d+ rows in \d+ parquet file\(s\)/);
    assert.match(out, /\+ create +mz-s3-export:orders-daily/);
    assert.match(out, /started mz-s3-export:orders-daily-\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/);
    assert.match(out, /s3:\/\/mz-s3-export-demo\/exports\/orders-daily\/\d{8}T\d{6}\.\d{3}Z\/attempt-001\/_SUCCESS/);
    assert.match(out, /"manifestVersion": 1/);
    const ui = /Web UI (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
    assert.ok(ui, 'the Web UI URL is printed');
    assert.match(out, new RegExp(`schedules: +${ui[1]}/namespaces/default/schedules`));
    assert.match(out, /\[demo\] stopped\./);

    // Nothing left behind: the worker, the servers, the state directory.
    const workerPid = Number(/pid (\d+), log/.exec(out)?.[1]);
    assert.ok(workerPid > 0 && !isAlive(workerPid), 'the worker stopped');
    assert.equal(await isPortOpen('127.0.0.1', Number(ui[2])), false, 'the Web UI is stopped');
    const temporal = /Temporal (127\.0\.0\.1):(\d+)/.exec(out)!;
    assert.equal(await isPortOpen(temporal[1], Number(temporal[2])), false, 'the Temporal dev server is stopped');
    const stateDir = /log (\S+)\/logs\/worker\.log/.exec(out)?.[1];
    assert.ok(stateDir && !fs.existsSync(stateDir), `${stateDir} was removed`);
  });
});
