/**
 * Replays the recorded histories of every workflow type (test/fixtures/histories/, recorded on the real local
 * stack by `npm run record-histories`) against the current workflow code. A change that would make a run in
 * flight take another path (a new activity call, a reordered timer, a removed step) fails here with Temporal's
 * nondeterminism error naming the history, before it can strand runs on a deployed worker. How to change
 * workflow code safely (patched(), re-recording): docs/development.md.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { historyFromJson } from '../helpers/history-json';
import { catalogFailuresInterceptor } from '../../worker/catalog-failures';
import { outcomeSinks, workflowBundle } from './harness';
import * as workflows from '../../workflows';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'histories');

function fixtures() {
  return fs
    .readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const history = historyFromJson(fs.readFileSync(path.join(FIXTURES, file), 'utf8'));
      const started = history.events![0].workflowExecutionStartedEventAttributes!;
      const closed = temporal.api.enums.v1.EventType[history.events![history.events!.length - 1].eventType!];
      return { file, history, workflowType: started.workflowType!.name!, closed };
    });
}

describe('replay of recorded histories (versioning safety)', function () {
  this.timeout(120_000);

  it('covers every workflow type and the export outcomes that matter: success, a retry, a cancellation', () => {
    const all = fixtures();
    // Every function workflows/index.ts exports is a workflow type the worker registers, but for these helpers.
    const helpers = ['claimId', 'withClaims'];
    // Workflow types whose fixture is still to be recorded (say why): the list only ever shrinks.
    const registered = Object.entries(workflows).filter(([name, v]) => typeof v === 'function' && !helpers.includes(name)).map(([name]) => name);
    assert.deepEqual([...new Set(all.map((f) => f.workflowType))].sort(), registered.sort(), 'a workflow type without a recorded history (npm run record-histories)');
    const exports = all.filter((f) => f.workflowType === 'bulkExport').map((f) => [f.file, f.closed]);
    assert.deepEqual(exports, [
      ['export-cancel.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED'],
      ['export-retry.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
      ['export-success.json', 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED'],
    ]);
  });

  it('every recorded history replays against the current workflow code without a nondeterminism error', async () => {
    const all = fixtures();
    const results = Worker.runReplayHistories(
      {
        workflowBundle: await workflowBundle(),
        interceptors: { activity: [catalogFailuresInterceptor] },
        sinks: outcomeSinks(() => undefined),
        replayName: 'fixtures',
      },
      // Recorded as workflow id history-<name> (record.ts): a snapshot set's child ids derive from it.
      all.map((f) => ({ workflowId: `history-${path.basename(f.file, '.json')}`, history: f.history })),
    );
    const failures: string[] = [];
    let replayed = 0;
    for await (const r of results) {
      replayed++;
      if (r.error) failures.push(`${r.workflowId}: ${r.error.name}: ${r.error.message}`);
    }
    assert.equal(replayed, all.length);
    assert.deepEqual(failures, []);
  });
});
