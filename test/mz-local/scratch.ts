import { startMoto, startServer, connect, setupExport, listKeys, getObject } from './helpers';
async function main() {
  const moto = await startMoto();
  const t0 = Date.now();
  const server = await startServer(moto, { sampleData: true, quiet: false });
  console.log('started in', Date.now() - t0);
  const c = await connect(server);
  console.log((await c.query('select 1 as x, $1::text as y', ['hi'])).rows);
  console.log((await c.query('select count(*) from orders')).rows);
  console.log((await c.query('show connections')).rows);
  const setup = await setupExport(moto, c);
  console.log(setup);
  console.log((await c.query('select * from mz_internal.mz_aws_connections')).rows);
  await c.query(`VALIDATE CONNECTION ${setup.connection}`);
  console.log('validated');
  const r = await c.query(`COPY orders TO 's3://${setup.bucket}/${setup.prefix}/run1' WITH (AWS CONNECTION = ${setup.connection}, FORMAT = 'csv', HEADER = true)`);
  console.log(r.command, r.rowCount);
  const keys = await listKeys(moto, setup.bucket, setup.prefix);
  console.log(keys);
  console.log((await getObject(moto, setup.bucket, keys[0])).toString().slice(0, 400));
  const r2 = await c.query(`COPY orders TO 's3://${setup.bucket}/${setup.prefix}/run2' WITH (AWS CONNECTION = ${setup.connection}, FORMAT = 'parquet')`);
  console.log(r2.command, r2.rowCount, await listKeys(moto, setup.bucket, setup.prefix + '/run2'));
  await c.end();
  await server.close();
  await moto.stop();
}
main().catch((e) => { console.error('FAILED', e); process.exit(1); });
