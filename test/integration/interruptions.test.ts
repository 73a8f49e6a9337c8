/**
 * Ctrl-C while the demo or `stack up` is starting the local stack stops every server already spawned: nothing
 * of the stack keeps running behind a `stack status` that says nothing runs.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { processesUsing, runCli, startCli } from '../helpers/cli-process';

describe('interrupting the demo and stack up', function () {
  this.timeout(180_000);
  let stateDir: string;
  beforeEach(() => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mz-s3-export-interrupt-'));
  });
  afterEach(() => {
    // Should the assertions fail, do not leave the servers behind for the next tests.
    for (const pid of processesUsing(stateDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  /** Waits until a server of the stack has been spawned under dir (its log file is opened at spawn). */
  async function untilSpawned(dir: string, logName: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    const found = () => fs.readdirSync(dir, { recursive: true }).some((f) => String(f).endsWith(path.join('logs', logName)));
    while (!found()) {
      if (Date.now() > deadline) throw new Error(`${logName} never appeared under ${dir}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The process is spawned right after its log is opened; give it that instant.
    const until = Date.now() + 5000;
    while (!processesUsing(dir).length && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  }

  for (const [what, args] of [
    ['the demo at its first step', ['demo', '--random-ports']],
    ['stack up', ['stack', 'up', '--random-ports', '--no-sample-data']],
  ] as const) {
    it(`SIGINT to ${what}: every server it spawned is stopped`, async () => {
      const env = { MZ_S3_EXPORT_STATE_DIR: stateDir };
      const cli = startCli([...args], env);
      // moto is started first, then the Temporal dev server: interrupt while Temporal is still coming up.
      await untilSpawned(stateDir, 'temporal.log');
      const running = processesUsing(stateDir);
      assert.ok(running.length >= 2, `moto and Temporal run before the interruption (found ${running.join(', ')})`);
      process.kill(cli.pid, 'SIGINT');
      const done = await cli.exited;
      assert.equal(done.code, 130, `${done.stdout}\n${done.stderr}`);
      assert.match(done.stdout, /interrupted|Interrupted/);
      assert.deepEqual(processesUsing(stateDir), [], 'no process of the stack remains');
      assert.equal((await runCli(['stack', 'status'], env)).code, 3);
    });
  }
});
