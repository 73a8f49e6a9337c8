/** How the test runner (test/setup/run-lanes.ts) deals spec files to lanes. */
import { strict as assert } from 'node:assert';
import { DEFAULT_SECONDS, FIXTURE_FOLDERS, planLanes } from '../setup/lane-plan';

describe('test lanes: dealing spec files', () => {
  it('deals the longest files first, each to the least loaded lane, so the lanes end close together', () => {
    const recorded = { a: 80, b: 30, c: 30, d: 28, e: 20, f: 12, g: 0.1 };
    const lanes = planLanes(Object.keys(recorded), recorded, 3);
    assert.deepEqual(lanes.map((l) => l.files), [['a'], ['b', 'd', 'g'], ['c', 'e', 'f']]);
    assert.deepEqual(lanes.map((l) => Math.round(l.seconds * 10) / 10), [80, 58.1, 62]);
  });

  it('every file lands in exactly one lane, whatever the count', () => {
    const files = Array.from({ length: 23 }, (_, k) => `test/f${k}.test.ts`);
    const recorded = Object.fromEntries(files.map((f, k) => [f, (k * 7) % 11]));
    for (const n of [1, 2, 3, 5, 8]) {
      const dealt = planLanes(files, recorded, n).flatMap((l) => l.files);
      assert.deepEqual([...dealt].sort(), [...files].sort());
    }
  });

  it('counts a file no run recorded as DEFAULT_SECONDS, and drops lanes left empty', () => {
    const lanes = planLanes(['new.test.ts', 'short.test.ts'], { 'short.test.ts': 1 }, 4);
    assert.equal(lanes.length, 2);
    assert.deepEqual(lanes[0], { files: ['new.test.ts'], seconds: DEFAULT_SECONDS });
  });

  it('keeps the files of a fixture folder in one lane, dealt as one item of their summed seconds', () => {
    assert.deepEqual(FIXTURE_FOLDERS, ['test/workflow/', 'test/mz-local/']);
    const recorded = {
      'test/integration/a.test.ts': 40,
      'test/integration/b.test.ts': 35,
      'test/workflow/x.test.ts': 20,
      'test/workflow/y.test.ts': 15,
      'test/mz-local/p.test.ts': 10,
      'test/mz-local/q.test.ts': 5,
      'test/unit/u.test.ts': 1,
    };
    const lanes = planLanes(Object.keys(recorded), recorded, 3);
    // Items: a 40, b 35, test/workflow/ 35, test/mz-local/ 15, u 1.
    assert.deepEqual(lanes.map((l) => l.files), [
      ['test/integration/a.test.ts'],
      ['test/integration/b.test.ts', 'test/mz-local/p.test.ts', 'test/mz-local/q.test.ts'],
      ['test/workflow/x.test.ts', 'test/workflow/y.test.ts', 'test/unit/u.test.ts'],
    ]);
    assert.deepEqual(lanes.map((l) => l.seconds), [40, 50, 36]);
    for (const folder of FIXTURE_FOLDERS) {
      assert.equal(lanes.filter((l) => l.files.some((f) => f.startsWith(folder))).length, 1, folder);
    }
  });

  it('gives the same plan for the same input, whatever order the files come in', () => {
    const recorded = { x: 5, y: 5, z: 5, w: 5 };
    assert.deepEqual(planLanes(['w', 'z', 'y', 'x'], recorded, 2), planLanes(['x', 'y', 'z', 'w'], recorded, 2));
  });
});
