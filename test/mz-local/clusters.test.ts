/**
 * Clusters: mz_clusters (src/catalog/src/builtin.rs MZ_CLUSTERS), SHOW CLUSTERS (src/sql/src/plan/statement/show.rs
 * show_clusters), CREATE/DROP CLUSTER (test/sqllogictest/cluster.slt messages), SET cluster and the startup
 * option (src/pgwire/src/protocol.rs parse_options; src/adapter/src/notice.rs), and the cluster a COPY ran on in
 * mz_internal.mz_recent_activity_log (src/catalog/src/builtin.rs MZ_RECENT_ACTIVITY_LOG).
 */
import * as assert from 'node:assert/strict';
import type { Client } from 'pg';
import { parseStartupOptions } from '../../local/mz-local/session/session';
import { connect, expectPgError, listKeys, useSuite, type ExportSetup, type SharedStack } from './helpers';

describe('mz-local clusters (src/catalog/src/builtin.rs MZ_CLUSTERS, src/sql/src/plan/statement/show.rs)', function () {
  let stack: SharedStack;
  let c: Client;
  let setup: ExportSetup;
  useSuite({ clients: 1, exportSetup: true }, (t) => {
    ({ stack, clients: [c] } = t);
    setup = t.setup!;
  });

  it('lists quickstart and the built-in clusters with Materialize columns', async () => {
    const r = await c.query('SELECT * FROM mz_catalog.mz_clusters ORDER BY id');
    assert.deepEqual(r.fields.map((f) => f.name), [
      'id', 'name', 'owner_id', 'privileges', 'managed', 'size', 'replication_factor', 'disk', 'availability_zones',
      'introspection_debugging', 'introspection_interval',
    ]);
    const quickstart = r.rows.find((x) => x.name === 'quickstart');
    assert.equal(quickstart.id, 'u1');
    assert.equal(quickstart.size, '25cc');
    assert.ok(r.rows.some((x) => x.name === 'mz_catalog_server' && x.id.startsWith('s')));
    const show = await c.query('SHOW CLUSTERS');
    assert.deepEqual(show.fields.map((f) => f.name), ['name', 'replicas', 'comment']);
    assert.deepEqual(show.rows.find((x) => x.name === 'quickstart'), { name: 'quickstart', replicas: 'r1 (25cc)', comment: '' });
  });

  it('CREATE CLUSTER with SIZE adds a cluster and its replicas; errors as test/sqllogictest/cluster.slt', async () => {
    await c.query(`CREATE CLUSTER exports (SIZE = '50cc', REPLICATION FACTOR = 2)`);
    const row = (await c.query(`SELECT id, size, replication_factor FROM mz_clusters WHERE name = 'exports'`)).rows[0];
    assert.match(row.id, /^u\d+$/);
    assert.equal(row.size, '50cc');
    assert.equal(row.replication_factor, 2);
    assert.deepEqual((await c.query(`SHOW CLUSTERS LIKE 'exp%'`)).rows, [{ name: 'exports', replicas: 'r1 (50cc), r2 (50cc)', comment: '' }]);
    assert.equal((await expectPgError(() => c.query(`CREATE CLUSTER exports (SIZE = '50cc')`))).message, "cluster 'exports' already exists");
    assert.equal((await expectPgError(() => c.query(`CREATE CLUSTER bad (SIZE = 'lol')`))).message, 'unknown cluster replica size lol');
    assert.equal((await expectPgError(() => c.query(`CREATE CLUSTER bad (SIZE = 1)`))).message, 'invalid SIZE: cannot use value as string');
    assert.match((await expectPgError(() => c.query(`CREATE CLUSTER bad`))).message, /^Expected one of AVAILABILITY or DISK or INTROSPECTION or MANAGED or REPLICAS or REPLICATION or SIZE or SCHEDULE or WORKLOAD, found/);
    await c.query('DROP CLUSTER exports CASCADE');
    assert.equal((await c.query(`SELECT count(*)::int AS n FROM mz_cluster_replicas r JOIN mz_clusters c ON c.id = r.cluster_id WHERE c.name = 'exports'`)).rows[0].n, 0);
    assert.equal((await expectPgError(() => c.query('DROP CLUSTER exports'))).message, "unknown cluster 'exports'");
  });

  it('SET cluster accepts an unknown cluster with a notice; SHOW cluster reports it (src/adapter/src/notice.rs ClusterDoesNotExist)', async () => {
    const notices: { message: string; code?: string }[] = [];
    const listener = (n: { message?: string; code?: string }) => void notices.push({ message: n.message ?? "", code: n.code });
    c.on('notice', listener);
    try {
      await c.query('SET cluster = nope');
      assert.equal((await c.query('SHOW cluster')).rows[0].cluster, 'nope');
      assert.deepEqual(notices.map((n) => [n.code, n.message]), [['MZ007', 'cluster "nope" does not exist']]);
    } finally {
      c.off('notice', listener);
      await c.query('RESET cluster');
    }
    assert.equal((await c.query('SHOW cluster')).rows[0].cluster, 'quickstart');
  });

  it('reads the startup options like Materialize: --cluster=x, -c cluster=x, escaped spaces', () => {
    assert.deepEqual(parseStartupOptions('--cluster=exports'), [['cluster', 'exports']]);
    assert.deepEqual(parseStartupOptions('-c cluster=a -ccluster_replica=r1 --application-name=x\\ y'), [
      ['cluster', 'a'],
      ['cluster_replica', 'r1'],
      ['application_name', 'x y'],
    ]);
  });

  it('a COPY fails with unknown cluster before touching S3, and records the cluster it ran on in mz_recent_activity_log', async () => {
    await c.query(`CREATE CLUSTER export_cluster (SIZE = '25cc')`);
    const onCluster = await connect(stack.server, { options: '--cluster=export_cluster' });
    const onMissing = await connect(stack.server, { options: '--cluster=missing' });
    try {
      assert.equal((await onCluster.query('SHOW cluster')).rows[0].cluster, 'export_cluster');
      const target = `s3://${setup.bucket}/${setup.prefix}/clusters-missing`;
      const err = await expectPgError(() => onMissing.query(`COPY (SELECT 1 AS x) TO '${target}' WITH (AWS CONNECTION = ${setup.connection}, FORMAT = 'csv')`));
      assert.equal(err.message, "unknown cluster 'missing'");
      assert.deepEqual(await listKeys(stack.moto, setup.bucket, `${setup.prefix}/clusters-missing`), []);

      const sql = `COPY (SELECT generate_series(1, 3) AS x) TO 's3://${setup.bucket}/${setup.prefix}/clusters-ok' WITH (AWS CONNECTION = ${setup.connection}, FORMAT = 'csv')`;
      assert.equal((await onCluster.query(sql)).rowCount, 3);
      const log = await c.query(
        `SELECT cluster_name, cluster_id, finished_status, rows_returned, statement_type, error_message
         FROM mz_internal.mz_recent_activity_log WHERE sql = $1`,
        [sql],
      );
      const clusterId = (await c.query(`SELECT id FROM mz_clusters WHERE name = 'export_cluster'`)).rows[0].id;
      assert.deepEqual(log.rows, [{ cluster_name: 'export_cluster', cluster_id: clusterId, finished_status: 'success', rows_returned: '3', statement_type: 'copy', error_message: null }]);
      const failed = await c.query(`SELECT cluster_name, cluster_id, finished_status, error_message FROM mz_internal.mz_recent_activity_log WHERE sql LIKE '%clusters-missing%'`);
      assert.deepEqual(failed.rows, [{ cluster_name: 'missing', cluster_id: null, finished_status: 'error', error_message: "unknown cluster 'missing'" }]);
    } finally {
      await onCluster.end();
      await onMissing.end();
    }
  });
});
