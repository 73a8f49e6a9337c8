import * as assert from 'node:assert/strict';
import { benchOptions } from '../../bench/run';
import { DEFAULT_CAPACITY, loadWorkerSettings } from '../../worker/worker-settings';

describe('worker capacity settings', () => {
  it('defaults to the measured sizing, and takes each slot count from the environment', () => {
    assert.deepEqual(loadWorkerSettings({}).capacity, DEFAULT_CAPACITY);
    const c = loadWorkerSettings({
      MZ_S3_EXPORT_MAX_CACHED_WORKFLOWS: '500',
      MZ_S3_EXPORT_MAX_CONCURRENT_ACTIVITIES: '250',
      MZ_S3_EXPORT_MAX_CONCURRENT_WORKFLOW_TASKS: '80',
    }).capacity;
    assert.deepEqual(c, { maxCachedWorkflows: 500, maxConcurrentActivities: 250, maxConcurrentWorkflowTasks: 80 });
  });

  it('names the variable and the allowed range of a bad value', () => {
    assert.throws(() => loadWorkerSettings({ MZ_S3_EXPORT_MAX_CONCURRENT_ACTIVITIES: '0' }), /MZ_S3_EXPORT_MAX_CONCURRENT_ACTIVITIES: "0" must be a whole number from 1 to 10000/);
    assert.throws(() => loadWorkerSettings({ MZ_S3_EXPORT_MAX_CACHED_WORKFLOWS: 'lots' }), /MZ_S3_EXPORT_MAX_CACHED_WORKFLOWS: "lots"/);
  });

  it('refuses more workflow task slots than cached workflows (the SDK would quietly lower them)', () => {
    assert.throws(
      () => loadWorkerSettings({ MZ_S3_EXPORT_MAX_CACHED_WORKFLOWS: '20', MZ_S3_EXPORT_MAX_CONCURRENT_WORKFLOW_TASKS: '40' }),
      /MZ_S3_EXPORT_MAX_CONCURRENT_WORKFLOW_TASKS: 40 is above MZ_S3_EXPORT_MAX_CACHED_WORKFLOWS \(20\)/,
    );
  });
});

describe('bench options', () => {
  it('--concurrency takes 1,000 exports at once and --schedules 10,000 definitions', () => {
    const o = benchOptions(['--concurrency', '10,1000', '--schedules', '10000', '--schedules-concurrency', '32']);
    assert.deepEqual(o.concurrency, [10, 1000]);
    assert.equal(o.schedules, 10_000);
    assert.equal(o.schedulesConcurrency, 32);
  });

  it('takes every option its usage lists', () => {
    const o = benchOptions(['--many-files', '10000', '--airflow-exports', '1,10', '--airflow-rows', '500', '--rows', '1000', '--rounds', '7']);
    assert.deepEqual([o.manyFiles, o.airflowExports, o.airflowRows, o.rows, o.rounds], [10_000, [1, 10], 500, 1000, 7]);
  });

  it('refuses a concurrency it cannot mean', () => {
    assert.throws(() => benchOptions(['--concurrency', '0']), /--concurrency takes whole numbers from 1 to 5000/);
    assert.throws(() => benchOptions(['--concurrency', '5001']), /--concurrency takes whole numbers/);
  });
});
