/** Retention's pure parts: the input, grouping a listing into folders, set manifest references, the plan. */
import { strict as assert } from 'node:assert';
import { deletionRank } from '../../activities/s3-folders';
import { resolveExpireInput } from '../../common/retention/input';
import { MAX_DELETIONS_PER_PLAN, PrefixIndex, planTarget, setManifestReferences, type Protections } from '../../common/retention/plan';
import type { FolderFacts } from '../../common/retention/types';
import { renderLogicalTime } from '../../common/export/paths';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T00:00:00Z');
const target = { bucket: 'b-ucket', prefix: 'exports', name: 'orders' };

/** A folder `days` days before NOW, written when it was exported. */
function folder(days: number, published = true): FolderFacts {
  const logicalTime = new Date(NOW - days * DAY).toISOString();
  return { logicalTime, key: `exports/orders/${renderLogicalTime(logicalTime)}`, objects: 3, bytes: 100, published, lastWrittenAt: logicalTime };
}

describe('retention: input', () => {
  it('fills defaults, normalizes the prefix and converts keepWithin', () => {
    const r = resolveExpireInput({ targets: [{ ...target, prefix: 'exports/', keepLast: 3, keepWithin: '7d' }] });
    assert.deepEqual(r, {
      targets: [{ ...target, keepLast: 3, keepWithin: '7d', keepWithinMs: 7 * DAY }],
      apply: false,
      recentWriteSeconds: 3600,
    });
  });

  it('lists every problem at once, naming the field', () => {
    assert.throws(
      () =>
        resolveExpireInput({
          targets: [{ bucket: 'B', prefix: '/x', name: '../a' }, { ...target, keepLast: 0, keepWithin: '1 week' }, { ...target, keepLast: 1, extra: 1 }],
          confirmed: ['s3://b/x/'],
        }),
      (e: Error) => {
        for (const field of ['targets[0].bucket', 'targets[0].prefix', 'targets[0].name', 'targets[0]: give keepLast', 'targets[1].keepLast', 'targets[1].keepWithin', 'targets[2].extra', 'confirmed: applies only with'])
          assert.ok(e.message.includes(field), `${field} in ${e.message}`);
        return e.name === 'InvalidInputError';
      },
    );
    assert.throws(() => resolveExpireInput([]), /must be one JSON object/);
    assert.throws(() => resolveExpireInput({ targets: [{ ...target, keepWithin: '0s' }] }), /at least 1m/);
    assert.throws(() => resolveExpireInput({ targets: [{ ...target, keepLast: 1 }, { ...target, keepLast: 2 }] }), /already a target/);
  });
});

describe('retention: listing and set manifests', () => {
  it('groups objects into logical-time folders of the named exports, knows what is published, finds set manifests', () => {
    const index = new PrefixIndex('exports', new Set(['orders']));
    const lt = '20261101T000000.000Z';
    const add = (key: string, lastModifiedMs = 1000) => index.add({ key, size: 10, lastModifiedMs });
    add(`exports/orders/${lt}/attempt-001/mz-1-batch-0000-0000.csv`, 5000);
    add(`exports/orders/${lt}/_claims/attempt-001.json`);
    add(`exports/orders/20261102T000000.000Z/attempt-001/mz-1-batch-0000-0000.csv`);
    add(`exports/orders/20261103T000000.000Z/attempt-002/_SUCCESS`); // published before claims existed
    add(`exports/orders/${lt}/_claims/publication.json`);
    add('exports/orders/_latest.json');
    add('exports/orders/notes/readme.txt');
    add('exports/other/20261101T000000.000Z/attempt-001/x.csv');
    add('exports/nightly-set/20261101T000000.000Z/attempt-001/set-manifest.json');
    const folders = index.foldersOf('orders').sort((a, b) => a.key.localeCompare(b.key));
    assert.deepEqual(
      folders.map((f) => [f.logicalTime, f.objects, f.bytes, f.published]),
      [
        ['2026-11-01T00:00:00.000Z', 3, 30, true],
        ['2026-11-02T00:00:00.000Z', 1, 10, false],
        ['2026-11-03T00:00:00.000Z', 1, 10, true],
      ],
    );
    assert.equal(folders[0].lastWrittenAt, new Date(5000).toISOString());
    assert.deepEqual(index.setManifests, ['exports/nightly-set/20261101T000000.000Z/attempt-001/set-manifest.json']);
    assert.equal(index.objects, 9);
  });

  it("counts a snapshot set's member folders as part of the set's logical time, to be deleted with it", () => {
    const index = new PrefixIndex('exports', new Set(['nightly']));
    const lt = '20261101T000000.000Z';
    index.add({ key: `exports/nightly/${lt}/attempt-001/set-manifest.json`, size: 5, lastModifiedMs: 1000 });
    index.add({ key: `exports/nightly/${lt}/_claims/publication.json`, size: 5, lastModifiedMs: 1000 });
    index.add({ key: `exports/nightly/members/orders/${lt}/attempt-001/mz-1-batch-0000-0000.csv`, size: 7, lastModifiedMs: 900 });
    index.add({ key: `exports/nightly/members/orders/${lt}/attempt-001/manifest.json`, size: 7, lastModifiedMs: 2000 });
    index.add({ key: `exports/nightly/members/items/${lt}/_claims/attempt-001.json`, size: 7, lastModifiedMs: 900 });
    index.add({ key: 'exports/nightly/members/items/_latest.json', size: 7, lastModifiedMs: 900 });
    const [f] = index.foldersOf('nightly');
    assert.deepEqual(
      { ...f, lastWrittenAt: undefined },
      {
        logicalTime: '2026-11-01T00:00:00.000Z',
        key: `exports/nightly/${lt}`,
        objects: 5,
        bytes: 31,
        published: true,
        lastWrittenAt: undefined,
        memberFolders: [`exports/nightly/members/orders/${lt}`, `exports/nightly/members/items/${lt}`],
      },
    );
    assert.equal(f.lastWrittenAt, new Date(2000).toISOString());
  });

  it('reads every key or s3:// URI under the prefix in a set manifest, whatever the field, but not the set itself', () => {
    const manifestKey = 'exports/nightly/20261101T000000.000Z/attempt-001/set-manifest.json';
    const refs = setManifestReferences(
      {
        members: [
          { name: 'orders', manifestKey: 'exports/orders/20261101T000000.000Z/attempt-002/manifest.json' },
          { name: 'items', manifest: 's3://b-ucket/exports/items/20261031T000000.000Z/attempt-001/manifest.json' },
          { name: 'own', manifestKey: 'exports/nightly/20261101T000000.000Z/attempt-001/members/001/manifest.json' },
        ],
        elsewhere: ['s3://other-bucket/exports/orders/20261001T000000.000Z/x', 'other/orders/20261001T000000.000Z/x', 'exports/orders/not-a-time/x'],
      },
      'b-ucket',
      'exports',
      manifestKey,
    );
    assert.deepEqual(refs, [
      { name: 'orders', logicalTime: '2026-11-01T00:00:00.000Z' },
      { name: 'items', logicalTime: '2026-10-31T00:00:00.000Z' },
    ]);
  });
});

describe('retention: the plan', () => {
  const rule = (r: { keepLast?: number; keepWithin?: string }) => ({
    ...target,
    ...r,
    ...(r.keepWithin ? { keepWithinMs: Number(r.keepWithin.replace('d', '')) * DAY } : {}),
  });

  it('keepLast keeps the newest N published logical times and anything newer; deletes the rest oldest first', () => {
    const folders = [folder(1, false), folder(2), folder(3, false), folder(4), folder(5), folder(6, false), folder(7)];
    const plan = planTarget(rule({ keepLast: 2 }), folders, new Map(), NOW, 0);
    assert.deepEqual(plan.delete.map((d) => d.logicalTime), [folder(7).logicalTime, folder(6).logicalTime, folder(5).logicalTime]);
    assert.equal(plan.kept, 4);
    assert.ok(plan.delete.every((d) => d.action === 'delete' && d.kept.length === 0));
    assert.match(plan.delete[1].why, /never published; older than what the rule keeps \(keep the last 2 published/);
    assert.equal(plan.bytesToDelete, 300);
    // Fewer published than N: nothing goes.
    assert.equal(planTarget(rule({ keepLast: 5 }), folders, new Map(), NOW, 0).delete.length, 0);
  });

  it('keepWithin keeps younger logical times; with both rules a folder stays when either keeps it', () => {
    const folders = [folder(1), folder(3), folder(10), folder(40)];
    assert.deepEqual(planTarget(rule({ keepWithin: '5d' }), folders, new Map(), NOW, 0).delete.map((d) => d.logicalTime), [folder(40).logicalTime, folder(10).logicalTime]);
    const both = planTarget(rule({ keepWithin: '5d', keepLast: 3 }), folders, new Map(), NOW, 0);
    assert.deepEqual(both.delete.map((d) => d.logicalTime), [folder(40).logicalTime]);
    assert.deepEqual(planTarget(rule({ keepWithin: '50d', keepLast: 1 }), folders, new Map(), NOW, 0).delete, []);
  });

  it('never deletes what _latest.json names, a set manifest references, or what was written recently; says why', () => {
    const old = [folder(30), folder(31), folder(32), { ...folder(33), lastWrittenAt: new Date(NOW - 60_000).toISOString() }, folder(34)];
    const protections: Protections = new Map([
      [folder(30).logicalTime, [{ reason: 'latest' as const, why: '_latest.json names it' }]],
      [folder(32).logicalTime, [{ reason: 'set-reference' as const, why: 'set manifest s3://x references it' }]],
    ]);
    const plan = planTarget(rule({ keepWithin: '1d' }), old, protections, NOW, 3600);
    assert.deepEqual(plan.delete.map((d) => d.logicalTime), [folder(34).logicalTime, folder(31).logicalTime]);
    assert.deepEqual(
      plan.protected.map((d) => [d.logicalTime, d.kept, d.why]),
      [
        [folder(30).logicalTime, ['latest'], 'kept: _latest.json names it'],
        [folder(32).logicalTime, ['set-reference'], 'kept: set manifest s3://x references it'],
        [folder(33).logicalTime, ['recent-write'], `kept: written to at ${new Date(NOW - 60_000).toISOString()}, within the last 3600 s: an export may be writing there`],
      ],
    );
  });

  it('carries at most MAX_DELETIONS_PER_PLAN deletions and counts the rest as deferred', () => {
    const many = Array.from({ length: MAX_DELETIONS_PER_PLAN + 7 }, (_, i) => folder(10 + i));
    const plan = planTarget(rule({ keepLast: 1 }), [folder(1), ...many], new Map(), NOW, 0);
    assert.equal(plan.delete.length, MAX_DELETIONS_PER_PLAN);
    assert.equal(plan.deferred, 7);
    assert.equal(plan.delete[0].logicalTime, many.at(-1)!.logicalTime); // oldest first
  });
});

describe('retention: deletion order', () => {
  it('removes _SUCCESS first, data next, attempt claims, then the publication claim last', () => {
    const lt = 'exports/orders/20261101T000000.000Z';
    const keys = [`${lt}/_claims/publication.json`, `${lt}/_claims/attempt-001.json`, `${lt}/attempt-001/manifest.json`, `${lt}/attempt-001/_SUCCESS`, `${lt}/attempt-001/mz-1-batch-0000-0000.csv`];
    assert.deepEqual(keys.map(deletionRank), [3, 2, 1, 0, 1]);
  });
});
