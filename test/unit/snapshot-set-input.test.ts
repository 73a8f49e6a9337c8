/** The snapshot set's input rules (each member through bulkExport's own checks) and the README's Web UI example. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { memberExportInput, resolveSnapshotSetInput, type SnapshotSetInput } from '../../common/export/snapshot-set';
import { InvalidInputError } from '../../common/failures';
import { PROJECT_ROOT } from '../../local/stack';

const base: SnapshotSetInput = {
  setName: 'sales',
  connectionName: 'conn',
  bucket: 'acme-exports',
  prefix: 'exports/',
  members: [{ name: 'orders', object: 'public.orders', format: 'parquet' }],
};

describe('snapshot set input', () => {
  it("accepts the README's Web UI example", () => {
    const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    const m = /<!-- webui:snapshotSet -->\s*```json\n([\s\S]*?)```/.exec(readme);
    assert.ok(m, 'README.md documents the snapshotSet input');
    const resolved = resolveSnapshotSetInput(JSON.parse(m[1]));
    assert.deepEqual(resolved.members.map((x) => x.exportName), ['orders', 'totals']);
  });

  it('runs each member as a staged bulkExport under <prefix>/<set>/members, on the set cluster', () => {
    const child = memberExportInput({ ...base, cluster: 'exports' }, base.members[0]);
    assert.deepEqual(child, {
      exportName: 'orders',
      connectionName: 'conn',
      object: 'public.orders',
      bucket: 'acme-exports',
      prefix: 'exports/sales/members',
      format: 'parquet',
      cluster: 'exports',
      publishLatest: false,
      commit: 'stage',
    });
    const resolved = resolveSnapshotSetInput(base);
    assert.equal(resolved.prefix, 'exports');
    assert.equal(resolved.maxParallel, 4);
    assert.equal(resolved.maxSetAttempts, 5);
  });

  it('lists every problem at once, naming the member and its field', () => {
    try {
      resolveSnapshotSetInput({
        ...base,
        cluster: '',
        maxParallel: 0,
        members: [
          { name: 'orders', object: 'public.orders', format: 'xml' },
          { name: 'orders', query: 'SELECT 1 ORDER BY 1', format: 'csv' },
          { name: 'bad name', object: 'x', format: 'csv', extra: 1 } as never,
        ],
      });
      assert.fail('expected InvalidInputError');
    } catch (e) {
      assert.ok(e instanceof InvalidInputError);
      assert.match(e.message, /cluster: must be the name of a Materialize cluster/);
      assert.match(e.message, /maxParallel: 0 must be a whole number from 1 to 32/);
      assert.match(e.message, /members\[0\]\.format: "xml" is not supported/);
      assert.match(e.message, /members\[1\]\.name: "orders" is used by an earlier member/);
      assert.match(e.message, /members\[1\]\.query: .*ORDER BY/);
      assert.match(e.message, /members\[2\]\.name: "bad name" must be 1 to 100 letters/);
      assert.match(e.message, /members\[2\]\.extra: is not a member field/);
    }
    assert.throws(() => resolveSnapshotSetInput({ ...base, members: [] }), /members: must be a list of 1 to 100 members/);
  });
});
