import * as assert from 'node:assert/strict';
import { forEachBounded } from '../../client/bounded';

describe('forEachBounded', () => {
  it('runs every item with at most `limit` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachBounded([...Array(50).keys()], 7, async (item) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, item % 3));
      seen.push(item);
      inFlight--;
    });
    assert.equal(most, 7);
    assert.deepEqual(seen.sort((a, b) => a - b), [...Array(50).keys()]);
  });

  it('starts nothing after the first failure, lets the started ones finish, then throws it', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    await assert.rejects(
      forEachBounded([...Array(20).keys()], 4, async (item) => {
        started.push(item);
        await new Promise((r) => setTimeout(r, 5));
        if (item === 5) throw new Error('item 5 failed');
        finished.push(item);
      }),
      /item 5 failed/,
    );
    assert.ok(started.length < 20 && started.length <= 9, `started ${started.length}`);
    assert.deepEqual(finished.sort((a, b) => a - b), started.filter((i) => i !== 5).sort((a, b) => a - b));
  });
});
