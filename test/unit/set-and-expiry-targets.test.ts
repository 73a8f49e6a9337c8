/**
 * Snapshot sets and retention in an S3-compatible store (storageProfile) and a set's `notify`: the inputs, the
 * CLI flags and the schedule file carry them to the workflows, and bad values are named once.
 */
import * as assert from 'node:assert/strict';
import { parseArgs } from '../../client/args';
import { options as expireOptions, expireInputFromArgs } from '../../client/commands/expire';
import { options as setOptions, setInputFromArgs } from '../../client/commands/set';
import { parseScheduleFile } from '../../client/schedules/file';
import { resolveSnapshotSetInput, type SnapshotSetInput } from '../../common/export/snapshot-set';
import { resolveExpireInput } from '../../common/retention/input';

const set: SnapshotSetInput = {
  setName: 'sales',
  connectionName: 'conn',
  bucket: 'acme-exports',
  prefix: 'exports',
  members: [
    { name: 'orders', object: 'public.orders', format: 'parquet' },
    { name: 'totals', object: 'public.order_totals', format: 'csv' },
  ],
};
const sqs = { sqs: { queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/sets' } };

describe('snapshot sets and retention in an S3-compatible store, and set events', () => {
  it("a set's storage profile goes to every member, its notify to none (members are staged, the set announces)", () => {
    const r = resolveSnapshotSetInput({ ...set, storageProfile: 'r2', notify: sqs });
    assert.equal(r.storageProfile, 'r2');
    assert.deepEqual(r.notify, sqs);
    assert.deepEqual(r.members.map((m) => [m.storageProfile, m.notify, m.commit]), [['r2', undefined, 'stage'], ['r2', undefined, 'stage']]);
    assert.deepEqual(r.memberInputs.map((m) => m.storageProfile), ['r2', 'r2']);
    assert.equal(resolveSnapshotSetInput(set).storageProfile, undefined);
  });

  it('a bad storage profile or notify on a set is named once, at the set', () => {
    assert.throws(
      () => resolveSnapshotSetInput({ ...set, storageProfile: 'R2!', notify: { sqs: { queueUrl: 'not a url' } } }),
      (e: Error) => {
        assert.match(e.message, /storageProfile: "R2!" is not a storage profile name/);
        assert.doesNotMatch(e.message, /members\[\d\]\.storageProfile/);
        assert.match(e.message, /notify\.sqs\.queueUrl: "not a url" is not valid here/);
        return true;
      },
    );
  });

  it('an expiry target names its store; the same folder in two stores is two targets', () => {
    const target = { bucket: 'acme-exports', prefix: 'p', name: 'orders', keepLast: 3 };
    const r = resolveExpireInput({ targets: [{ ...target, storageProfile: 'gcs' }, target] });
    assert.deepEqual(r.targets.map((t) => t.storageProfile), ['gcs', undefined]);
    assert.throws(() => resolveExpireInput({ targets: [{ ...target, storageProfile: 'no way' }] }), /targets\[0\]\.storageProfile: "no way" is not a storage profile name/);
    assert.throws(
      () => resolveExpireInput({ targets: [{ ...target, storageProfile: 'gcs' }, { ...target, storageProfile: 'gcs' }] }),
      /storage profile gcs: s3:\/\/acme-exports\/p\/orders\/ is already a target/,
    );
  });

  it('the CLI: set --storage-profile and --notify, expire --storage-profile', () => {
    const setArgs = parseArgs(
      ['set', '--name', 'sales', '--connection', 'c', '--to', 's3://b/p', '--members', 'o=public.orders', '--storage-profile', 'r2', '--notify', JSON.stringify(sqs)],
      setOptions,
    );
    const input = setInputFromArgs(setArgs, new Date('2024-05-01T00:00:00Z'));
    assert.equal(input.storageProfile, 'r2');
    assert.deepEqual(input.notify, sqs);
    assert.throws(() => setInputFromArgs(parseArgs(['set', '--name', 's', '--members', 'o=x', '--notify', '{'], setOptions), new Date()), /--notify must be JSON/);

    const expireArgs = parseArgs(['expire', '--to', 's3://b/p', '--name', 'a,b', '--keep-last', '2', '--storage-profile', 'r2'], expireOptions);
    assert.deepEqual(expireInputFromArgs(expireArgs).targets, [
      { bucket: 'b', prefix: 'p', storageProfile: 'r2', name: 'a', keepLast: 2 },
      { bucket: 'b', prefix: 'p', storageProfile: 'r2', name: 'b', keepLast: 2 },
    ]);
    assert.throws(() => expireInputFromArgs(parseArgs(['expire', '--storage-profile', 'r2'], expireOptions)), /--storage-profile go with --to and --name/);
  });

  it('the schedule file: a set entry takes storageProfile and notify; the expiry schedule expires each entry in its store', () => {
    const file = parseScheduleFile(`scheduleSet: s
defaults:
  connectionName: conn
  bucket: acme-exports
  prefix: exports
exports:
  - name: sales
    storageProfile: r2
    notify: { sqs: { queueUrl: "${sqs.sqs.queueUrl}" } }
    members:
      - { name: orders, object: public.orders, format: parquet }
    cron: "0 3 * * *"
    retention: { keepLast: 7 }
  - name: orders-daily
    object: public.orders
    format: csv
    cron: "0 3 * * *"
    retention: { keepLast: 30 }
expiry:
  cron: "30 4 * * *"
`);
    const [setEntry, , expiry] = file.entries;
    assert.ok(setEntry.kind === 'set');
    assert.equal(setEntry.input.storageProfile, 'r2');
    assert.deepEqual(setEntry.input.notify, sqs);
    assert.deepEqual(setEntry.retention, { keepLast: 7 });
    assert.deepEqual(expiry.expire?.targets, [
      { bucket: 'acme-exports', prefix: 'exports', storageProfile: 'r2', name: 'sales', keepLast: 7 },
      { bucket: 'acme-exports', prefix: 'exports', name: 'orders-daily', keepLast: 30 },
    ]);
  });
});
