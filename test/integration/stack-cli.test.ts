/** `mz-s3-export stack up | status | down` as a user runs it: real processes, a Web UI that answers, nothing left. */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../local/stack';
import { isAlive } from '../../local/processes';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'bin', 'mz-s3-export');

describe('the stack commands of the client script', function () {
  this.timeout(120_000);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mz-s3-export-stack-'));
  const env = { ...process.env, MZ_S3_EXPORT_STATE_DIR: stateDir };
  const cli = (...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> =>
    run(CLI, args, { env }).then(
      (r) => ({ ...r, code: 0 }),
      (e) => e,
    );

  after(async () => {
    await cli('stack', 'down');
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('starts the stack, reports its addresses, answers on the Web UI, and stops with nothing left behind', async () => {
    const none = await cli('stack', 'status');
    assert.equal(none.code, 3);
    assert.match(none.stdout, /not running/);

    const up = await cli('stack', 'up', '--random-ports', '--no-sample-data');
    assert.match(up.stdout, /export TEMPORAL_ADDRESS=127\.0\.0\.1:\d+/);

    const status = await cli('stack', 'status');
    for (const v of ['TEMPORAL_ADDRESS', 'AWS_ENDPOINT_URL', 'MZ_URL']) assert.match(status.stdout, new RegExp(`export ${v}=`));
    const ui = /Web UI\s+(http:\S+)/.exec(status.stdout)![1];
    assert.equal((await fetch(ui)).status, 200);
    const pids = [...status.stdout.matchAll(/running\s+pid (\d+)/g)].map((m) => Number(m[1]));
    assert.equal(pids.length, 3, status.stdout);

    const again = await cli('stack', 'up', '--random-ports');
    assert.match(again.stdout, /already running/);

    await cli('stack', 'down');
    assert.deepEqual(pids.filter(isAlive), []);
    assert.equal((await cli('stack', 'status')).code, 3);
  });
});
