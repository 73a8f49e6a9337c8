/**
 * bin/mz-s3-export-worker, the one way the Dockerfile, `npm run worker`, the tests and the bench start the worker:
 * it sizes V8's heap from MZ_S3_EXPORT_WORKER_HEAP_MIB and refuses a value it cannot use. NODE=/bin/echo prints
 * the command line it would run instead of running it.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../local/stack';

const LAUNCHER = path.join(PROJECT_ROOT, 'bin', 'mz-s3-export-worker');
const launch = (heap?: string) =>
  spawnSync(LAUNCHER, [], { encoding: 'utf8', env: { PATH: process.env.PATH, NODE: '/bin/echo', ...(heap === undefined ? {} : { MZ_S3_EXPORT_WORKER_HEAP_MIB: heap }) } });

describe('the worker launcher (bin/mz-s3-export-worker)', () => {
  it('caps the old space at 160 MiB by default, with small semi-spaces, and runs worker/main.ts', () => {
    const r = launch();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^--max-old-space-size=160 --max-semi-space-size=4 --import file:\/\/\S+\/tsx\/dist\/loader\.mjs \S+\/worker\/main\.ts$/m);
  });

  it('takes the cap from MZ_S3_EXPORT_WORKER_HEAP_MIB', () => {
    assert.match(launch('512').stdout, /--max-old-space-size=512 /);
  });

  it("`mz-s3-export worker` goes through the launcher; `worker --help` stays with the CLI", () => {
    const cli = (...args: string[]) =>
      spawnSync(path.join(PROJECT_ROOT, 'bin', 'mz-s3-export'), args, { encoding: 'utf8', env: { PATH: process.env.PATH, NODE: '/bin/echo', MZ_S3_EXPORT_WORKER_HEAP_MIB: '200' } });
    assert.match(cli('worker').stdout, /^--max-old-space-size=200 .*\/worker\/main\.ts$/m);
    const help = cli('worker', '--help');
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /run a worker on TEMPORAL_TASK_QUEUE/);
  });

  it('refuses a cap that is not a whole number of at least 64 MiB, saying what to set', () => {
    for (const bad of ['lots', '1.5', '-100', '32', '160m']) {
      const r = launch(bad);
      assert.equal(r.status, 2, `accepted ${JSON.stringify(bad)}`);
      assert.match(r.stderr, /MZ_S3_EXPORT_WORKER_HEAP_MIB must be a whole number of MiB, at least 64/);
      assert.equal(r.stdout, '');
    }
  });
});
