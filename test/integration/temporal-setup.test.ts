/**
 * A Temporal cluster nobody set up for us: a second, bare dev server started without our search attributes.
 * The worker refuses to poll it and names what is missing; `setup temporal --check` reports; `setup temporal`
 * registers them through the operator API (twice is a no-op); then a worker starts and an export completes and
 * is found by its MzExportName.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { PROJECT_ROOT, spawnWorker, startTemporal } from '../../local/stack';
import { freePort, stopProcessGroup, type StartedProcess } from '../../local/processes';
import { SEARCH_ATTRIBUTES } from '../../common/search-attributes';
import type { BulkExportResult } from '../../common/export/types';
import { useTestAwsConnection, type TestAwsConnection } from '../helpers/aws-connection';
import { exportInput } from '../helpers/export-run';
import type { TestStack } from '../helpers/stack';
import { startWorkerProcess } from '../helpers/worker-process';
import { bulkExport } from '../../workflows';

describe('a Temporal server without our search attributes', function () {
  let stack: TestStack;
  let conn: TestAwsConnection;
  useTestAwsConnection((suite) => ({ stack, conn } = suite));

  let bare: { proc: StartedProcess; address: string } | undefined;
  let env: Record<string, string>;
  let dir: string;
  before(async function () {
    this.timeout(90_000);
    dir = path.join(stack.info.dir, 'bare-temporal');
    bare = await startTemporal(dir, { grpc: await freePort(), ui: await freePort() }, { searchAttributes: false });
    env = { ...stack.env, TEMPORAL_ADDRESS: bare.address, TEMPORAL_TASK_QUEUE: 'mz-s3-export-bare' };
  });
  after(async () => {
    if (bare) await stopProcessGroup(bare.proc.pid);
  });

  const cli = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'client', 'main.ts'), ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('the worker refuses to start, naming each missing attribute and the command that adds them', async () => {
    const proc = spawnWorker('worker-bare-refused', { ...process.env, ...env }, { logDir: dir });
    assert.equal(await proc.exited, 1);
    const log = fs.readFileSync(proc.logFile, 'utf8');
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) assert.match(log, new RegExp(`${name} \\(${type}\\) is missing`));
    assert.match(log, /mz-s3-export setup temporal/);
    assert.match(log, /tcld namespace search-attributes add/);
    assert.doesNotMatch(log, /"worker started"/);
    for (const line of log.trim().split('\n')) JSON.parse(line); // every line is JSON
  });

  it('`setup temporal --check` reports them; `setup temporal` registers them, and again changes nothing', () => {
    const check = cli(['setup', 'temporal', '--check']);
    assert.equal(check.status, 1, check.stderr);
    for (const name of Object.keys(SEARCH_ATTRIBUTES)) assert.match(check.stdout, new RegExp(`${name} \\(\\w+\\) is missing`));

    const setup = cli(['setup', 'temporal']);
    assert.equal(setup.status, 0, setup.stderr);
    assert.match(setup.stdout, new RegExp(`registered ${Object.keys(SEARCH_ATTRIBUTES).join(', ')}`));

    const again = cli(['setup', 'temporal']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /nothing to add/);
    const ready = cli(['setup', 'temporal', '--check']);
    assert.equal(ready.status, 0, ready.stdout + ready.stderr);
    assert.match(ready.stdout, /search attributes ready/);
  });

  it('after setup a worker starts and an export completes, listed by its MzExportName', async function () {
    this.timeout(180_000);
    const worker = await startWorkerProcess(env, { logDir: dir, name: 'worker-bare' });
    const connection = await Connection.connect({ address: bare!.address });
    try {
      const client = new Client({ connection, namespace: 'default' });
      const input = exportInput(conn, { object: 'public.order_totals', format: 'csv' });
      const handle = await client.workflow.start(bulkExport, {
        taskQueue: env.TEMPORAL_TASK_QUEUE,
        workflowId: `bare-${input.exportName}`,
        args: [input],
        workflowExecutionTimeout: '2 minutes',
      });
      const result = (await handle.result()) as BulkExportResult;
      assert.equal(result.exportName, input.exportName);
      // Visibility on the dev server is eventually consistent: poll briefly for the run by its attribute.
      let found = 0;
      for (let i = 0; i < 50 && !found; i++) {
        found = (await client.workflow.count(`MzExportName = '${input.exportName}'`)).count;
        if (!found) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(found, 1);
    } finally {
      await connection.close();
      await worker.stop();
    }
  });
});
