/** The wire protocol: simple and extended queries, sessions sharing the engine, cancel, auth, the CLI. */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client, Query, type QueryConfig } from 'pg';
import type { MzLocalServer } from '../../local/mz-local/server';
import { connect, expectPgError, extendedWithoutDescribe, freePort, sharedMzLocalStack, sleep, startServer, type SharedStack } from './helpers';

/** Sends a CancelRequest for `client` on a new connection, as any Postgres client does. */
async function sendCancel(server: MzLocalServer, client: Client): Promise<void> {
  const c = client as unknown as { processID: number; secretKey: number };
  const buf = Buffer.alloc(16);
  buf.writeInt32BE(16, 0);
  buf.writeInt32BE(80877102, 4);
  buf.writeInt32BE(c.processID, 8);
  buf.writeInt32BE(c.secretKey, 12);
  await new Promise<void>((resolve, reject) => {
    const s = net.connect({ host: server.host, port: server.port }, () => s.end(buf));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

describe('mz-local protocol', function () {
  let stack: SharedStack;
  const clients: Client[] = [];
  const open = async (extra: Record<string, unknown> = {}) => {
    const c = await connect(stack.server, extra);
    clients.push(c);
    return c;
  };

  before(async function () {
    this.timeout(180_000);
    stack = await sharedMzLocalStack();
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  });

  it('answers simple and extended queries with Postgres types', async () => {
    const c = await open();
    const simple = await c.query(`SELECT 1::int AS i, 'x'::text AS t, NULL::numeric AS n, now() IS NOT NULL AS b`);
    assert.deepEqual(simple.rows, [{ i: 1, t: 'x', n: null, b: true }]);
    const ext = await c.query('SELECT $1::int + 1 AS v, $2::text AS s', [41, 'hi']);
    assert.deepEqual(ext.rows, [{ v: 42, s: 'hi' }]);
    const multi = (await c.query('SELECT 1 AS a; SELECT 2 AS b')) as unknown as { rows: unknown[] }[];
    assert.deepEqual(
      multi.map((r) => r.rows),
      [[{ a: 1 }], [{ b: 2 }]],
    );
  });

  it("reports Materialize's session variables as ParameterStatus at startup and after SET and RESET of cluster", async () => {
    const c = new Client({ host: stack.server.host, port: stack.server.port, user: 'materialize', database: 'materialize', options: '--cluster=quickstart' });
    c.on('error', () => undefined);
    const reported: [string, string][] = [];
    (c as unknown as { connection: { on(e: string, fn: (m: { parameterName: string; parameterValue: string }) => void): void } }).connection.on('parameterStatus', (m) =>
      reported.push([m.parameterName, m.parameterValue]),
    );
    await c.connect();
    clients.push(c);
    // src/sql/src/session/vars.rs notify_set, in its order
    assert.deepEqual(
      reported.map(([name]) => name),
      ['application_name', 'client_encoding', 'DateStyle', 'integer_datetimes', 'server_version', 'standard_conforming_strings', 'TimeZone', 'IntervalStyle', 'cluster', 'cluster_replica', 'default_cluster_replication_factor', 'database', 'search_path', 'mz_version'],
    );
    const at = (name: string) => reported.filter(([n]) => n === name).at(-1)?.[1];
    assert.equal(at('cluster'), 'quickstart');
    assert.equal(at('database'), 'materialize');
    assert.equal(at('mz_version'), (await c.query('SELECT mz_version() AS v')).rows[0].v);
    reported.length = 0;
    await c.query('SET cluster = elsewhere'); // an unknown cluster is accepted (with a notice) and reported
    assert.deepEqual(reported, [['cluster', 'elsewhere']]);
    assert.equal((await c.query('SHOW cluster')).rows[0].cluster, 'elsewhere');
    reported.length = 0;
    await c.query('RESET cluster');
    assert.deepEqual(reported, [['cluster', 'quickstart']]);
    reported.length = 0;
    await c.query('SET transaction_isolation = serializable'); // not in the notify set: nothing reported
    assert.deepEqual(reported, []);
  });

  it('reports engine errors with their SQLSTATE and keeps the session usable', async () => {
    const c = await open();
    const e = await expectPgError(() => c.query('SELECT 1/0'));
    assert.equal(e.code, '22012');
    const e2 = await expectPgError(() => c.query('SELECT $1::int', ['not a number']));
    assert.equal(e2.code, '22P02');
    assert.equal((await c.query('SELECT 3 AS x')).rows[0].x, 3);
  });

  it('keeps failed transactions failed until ROLLBACK, like Postgres', async () => {
    const c = await open();
    await c.query('BEGIN');
    await expectPgError(() => c.query('SELECT 1/0'));
    const e = await expectPgError(() => c.query('SELECT 1'));
    assert.equal(e.code, '25P02');
    await c.query('ROLLBACK');
    assert.equal((await c.query('SELECT 1 AS x')).rows[0].x, 1);
  });

  it('streams large results', async () => {
    const c = await open();
    const r = await c.query('SELECT g, md5(g::text) AS h FROM generate_series(1, 200000) g');
    assert.equal(r.rows.length, 200000);
    assert.equal(r.rows[199999].g, 200000);
  });

  it('keeps named prepared statements apart between sessions', async () => {
    const a = await open();
    const b = await open();
    assert.equal((await a.query({ name: 'same', text: 'SELECT $1::int * 2 AS v', values: [5] })).rows[0].v, 10);
    assert.equal((await b.query({ name: 'same', text: "SELECT $1::text || '!' AS v", values: ['x'] })).rows[0].v, 'x!');
    // re-executing the prepared statements (Bind/Execute without Parse) reaches each session's own
    assert.equal((await a.query({ name: 'same', text: 'SELECT $1::int * 2 AS v', values: [7] })).rows[0].v, 14);
    assert.equal((await b.query({ name: 'same', text: "SELECT $1::text || '!' AS v", values: ['y'] })).rows[0].v, 'y!');
  });

  it('answers Materialize statements over the extended protocol too', async () => {
    const c = await open();
    const r = await c.query({ text: 'SHOW mz_local_batch_delay_ms', queryMode: 'extended' } as QueryConfig);
    assert.deepEqual(r.rows, [{ mz_local_batch_delay_ms: '0' }]);
    const named = await c.query({ name: 'show_conns', text: 'SHOW CONNECTIONS' });
    assert.deepEqual(named.fields.map((f) => f.name), ['name', 'type', 'comment']);
    const again = await c.query({ name: 'show_conns', text: 'SHOW CONNECTIONS' });
    assert.deepEqual(again.fields.map((f) => f.name), ['name', 'type', 'comment']);
    const e = await expectPgError(() => c.query({ text: 'VALIDATE CONNECTION does_not_exist', queryMode: 'extended' } as QueryConfig));
    assert.match(e.message, /unknown catalog item 'does_not_exist'/);
    assert.equal((await c.query('SELECT 1 AS ok', [])).rows[0].ok, 1);
  });

  it('prints jsonb, numeric and floats as Materialize does, in every protocol path', async () => {
    const c = await open({ types: { getTypeParser: () => (v: string | Buffer) => v } });
    const sql = `SELECT '{"b": 1, "aa": [1.50, 2e3, {"é": null, "E": "x\\\\y"}]}'::jsonb AS j, 12.30::numeric(10,2) AS n, 7::numeric(39,3) AS n7,
                        1e15::float8 AS f, 0.00005::float8 AS small, 1e-7::float8 AS tiny, 1234567::float4 AS r, '{"k": 1, "k": 2.0}'::json AS js, 'ab'::text AS t`;
    const expected = {
      j: '{"aa":[1.5,2000,{"E":"x\\\\y","é":null}],"b":1}',
      n: '12.3',
      n7: '7',
      f: '1000000000000000',
      small: '0.00005',
      tiny: '1e-7',
      r: '1234567',
      js: '{"k":2}',
      t: 'ab',
    };
    assert.deepEqual((await c.query(sql)).rows[0], expected, 'simple query');
    assert.deepEqual((await c.query(`${sql} WHERE $1::int = 1`, [1])).rows[0], expected, 'extended, unnamed');
    assert.deepEqual((await c.query({ name: 'mzfmt', text: `${sql} WHERE $1::int = 1`, values: [1] })).rows[0], expected, 'extended, named');
    assert.deepEqual((await c.query({ name: 'mzfmt', text: `${sql} WHERE $1::int = 1`, values: [2] })).rows, [], 'named, again');
    assert.deepEqual(await extendedWithoutDescribe(stack.server, sql), [Object.values(expected)], 'Parse/Bind/Execute without Describe');
    // binary results: jsonb is a version byte and the text; numeric carries the reduced display scale
    const binary = await open({ binary: true, types: { getTypeParser: () => (v: Buffer) => v } });
    const bin = (await binary.query(`SELECT '{"b": 1, "a": 2}'::jsonb AS j, 12.30::numeric(10,2) AS n WHERE $1::int = 1`, [1])).rows[0];
    assert.equal((bin.j as Buffer).subarray(1).toString(), '{"a":2,"b":1}');
    assert.equal((bin.n as Buffer).readInt16BE(6), 1, 'dscale of 12.3');
    // the jsonb → text cast and jsonb_pretty print like Materialize too
    const cast = (await c.query(`SELECT '{"b": [1.0, null], "a": "x"}'::jsonb::text AS t, jsonb_pretty('{"1": 2, "a": ["b", "c"], "e": {}}') AS p`)).rows[0];
    assert.equal(cast.t, '{"a":"x","b":[1,null]}');
    assert.equal(cast.p, '{\n  "1": 2,\n  "a": [\n    "b",\n    "c"\n  ],\n  "e": {}\n}');
  });

  it('answers as Materialize about the session: users, database, versions', async () => {
    const q = `SELECT current_user AS cu, session_user AS su, current_role AS cr, current_database() AS db, version() AS v, mz_version() AS mv, mz_version_num() AS n`;
    const a = await open();
    const r = (await a.query(q)).rows[0];
    assert.deepEqual([r.cu, r.su, r.cr, r.db], ['materialize', 'materialize', 'materialize', 'materialize']);
    assert.match(r.v, /^PostgreSQL 9\.5 on \S+ \(Materialize \d+\.\d+\.\d+\S*\)$/);
    assert.match(r.mv, /^v\d+\.\d+\.\d+\S* \([0-9a-f]{9}\)$/);
    assert.equal(typeof r.n, 'number');
    // another user and database, in a session interleaved with the first
    const b = await open({ user: 'alice@example.com', database: 'analytics' });
    const rb = (await b.query(q)).rows[0];
    assert.deepEqual([rb.cu, rb.su, rb.db], ['alice@example.com', 'alice@example.com', 'analytics']);
    assert.equal((await a.query('SELECT current_user AS u')).rows[0].u, 'materialize');
    await b.query(`SET database = other`);
    assert.equal((await b.query('SELECT current_database() AS d')).rows[0].d, 'other');
    assert.equal((await b.query('SHOW database')).rows[0].database, 'other');
    await b.query('RESET database');
    assert.equal((await b.query('SELECT current_database() AS d')).rows[0].d, 'analytics', 'RESET returns to the connection database');
    // three-part names name the database
    assert.equal((await a.query('SELECT count(*)::int AS n FROM materialize.public.orders')).rows[0].n, 1000);
    // DISCARD ALL does not take mz_catalog off the search path
    await a.query('DISCARD ALL');
    assert.equal((await a.query(`SELECT count(*)::int AS n FROM mz_connections WHERE false`)).rows[0].n, 0);
    assert.equal((await a.query('SELECT current_user AS u')).rows[0].u, 'materialize');
  });

  it("serializes sessions on the engine: another session waits for an open transaction's end", async () => {
    const a = await open();
    const b = await open();
    await a.query('CREATE TABLE IF NOT EXISTS proto_tx (v int)');
    await a.query('BEGIN');
    await a.query('INSERT INTO proto_tx VALUES (1)');
    const events: string[] = [];
    const waiting = b.query('SELECT count(*)::int AS n FROM proto_tx').then((r) => {
      events.push('b');
      return r.rows[0].n as number;
    });
    await sleep(200);
    events.push('commit');
    await a.query('COMMIT');
    assert.equal(await waiting, 1, 'b sees the committed row');
    assert.deepEqual(events, ['commit', 'b']);
  });

  it('cancels a statement with a CancelRequest carrying the backend key', async () => {
    const a = await open();
    const b = await open();
    await a.query('BEGIN');
    const waiting = expectPgError(() => b.query('SELECT 42'));
    await sleep(100);
    await sendCancel(stack.server, b);
    const e = await waiting;
    assert.equal(e.code, '57014');
    assert.match(e.message, /canceling statement due to user request/);
    await a.query('ROLLBACK');
    assert.equal((await b.query('SELECT 1 AS x')).rows[0].x, 1, 'the cancelled session goes on');
  });

  it("supports pg's own cancel (a new connection's cancel)", async () => {
    const a = await open();
    const b = await open();
    await a.query('BEGIN');
    const query = new Query('SELECT 43');
    const waiting = new Promise<{ code: string }>((resolve, reject) => {
      query.on('error', (e) => resolve(e as unknown as { code: string }));
      query.on('end', () => reject(new Error('the query was not cancelled')));
    });
    b.query(query);
    await sleep(100);
    const canceller = new Client({ host: stack.server.host, port: stack.server.port, user: 'materialize' });
    (canceller as unknown as { cancel(c: Client, q: Query): void }).cancel(b, query);
    assert.equal((await waiting).code, '57014');
    await a.query('ROLLBACK');
  });

  it('ignores a cancel request with the wrong key', async () => {
    const a = await open();
    const b = await open();
    await a.query('BEGIN');
    const query = b.query('SELECT 44 AS v');
    await sleep(50);
    const bad = Object.assign(Object.create(Object.getPrototypeOf(b)), b, { secretKey: ((b as unknown as { secretKey: number }).secretKey ^ 1) });
    await sendCancel(stack.server, bad as Client);
    await sleep(100);
    await a.query('ROLLBACK');
    assert.equal((await query).rows[0].v, 44);
  });

  it('releases the engine when a client disconnects inside a transaction', async () => {
    const a = await open();
    await a.query('CREATE TABLE IF NOT EXISTS proto_drop (v int)');
    await a.query('BEGIN');
    await a.query('INSERT INTO proto_drop VALUES (1)');
    (a as unknown as { connection: { stream: net.Socket } }).connection.stream.destroy();
    const b = await open();
    const r = await b.query('SELECT count(*)::int AS n FROM proto_drop');
    assert.equal(r.rows[0].n, 0, 'the open transaction was rolled back');
  });

  it('leaves SQL it cannot tokenize to the engine, which reports the syntax error', async () => {
    const c = await open();
    const e = await expectPgError(() => c.query('SELECT {1}'));
    assert.equal(e.code, '42601');
    assert.match(e.message, /syntax error/);
  });

  it('survives port probes and garbage, and keeps serving', async () => {
    await new Promise<void>((resolve) => {
      const probe = net.connect({ host: stack.server.host, port: stack.server.port }, () => probe.destroy());
      probe.on('close', () => resolve());
    });
    await new Promise<void>((resolve) => {
      const junk = net.connect({ host: stack.server.host, port: stack.server.port }, () => junk.write(Buffer.from([0, 0, 0, 9, 1, 2, 3, 4, 5])));
      junk.on('data', () => undefined);
      junk.on('close', () => resolve());
      junk.on('error', () => resolve());
    });
    const c = await open();
    assert.equal((await c.query('SELECT 1 AS x')).rows[0].x, 1);
  });

  it('refuses SSL (like a server without TLS) and accepts the plain connection', async () => {
    const c = new Client({ host: stack.server.host, port: stack.server.port, user: 'materialize', ssl: { rejectUnauthorized: false } });
    c.on('error', () => undefined);
    await assert.rejects(() => c.connect(), /does not support SSL/);
  });

  describe('password authentication', function () {
    let server: MzLocalServer;
    let md5Server: MzLocalServer;
    before(async function () {
      this.timeout(180_000);
      [server, md5Server] = await Promise.all([
        startServer(stack.moto, { password: 's3cret' }),
        startServer(stack.moto, { password: 's3cret', passwordMethod: 'md5' }),
      ]);
    });
    after(async () => {
      await Promise.all([server?.close(), md5Server?.close()]);
    });

    for (const method of ['cleartext', 'md5'] as const) {
      it(`accepts the right ${method} password and refuses a wrong one`, async () => {
        const s = method === 'md5' ? md5Server : server;
        const ok = await connect(s, { password: 's3cret' });
        assert.equal((await ok.query('SELECT 1 AS x')).rows[0].x, 1);
        await ok.end();
        const bad = new Client({ host: s.host, port: s.port, user: 'materialize', password: 'nope' });
        bad.on('error', () => undefined);
        const e = await expectPgError(() => bad.connect());
        assert.equal(e.code, '28P01');
        assert.match(e.message, /password authentication failed for user "materialize"/);
      });
    }
  });

  it('runs from the command line: prints its address, serves, stops on SIGTERM', async function () {
    this.timeout(180_000);
    const port = await freePort();
    const root = path.resolve(__dirname, '..', '..');
    const proc = spawn(process.execPath, ['--import', 'tsx', 'local/mz-local/main.ts', '--port', String(port), '--aws-endpoint', stack.moto.endpoint, '--workers', '1'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 150_000;
      while (!out.includes(`mz-local listening on 127.0.0.1:${port}`)) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`mz-local did not start:\n${out}`);
        await sleep(100);
      }
      const c = new Client({ host: '127.0.0.1', port, user: 'materialize', database: 'materialize' });
      await c.connect();
      assert.match((await c.query('SELECT mz_version() AS v')).rows[0].v, /^v\d+\.\d+\.\d+\S* \([0-9a-f]{9}\)$/);
      await c.end();
      proc.kill('SIGTERM');
      assert.equal(await exited, 0, out);
      assert.match(out, /mz-local stopped/);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  });

  it('is a package of its own: `npx mz-local` (the workspace bin in local/mz-local/package.json) runs its command line', async function () {
    this.timeout(60_000);
    const root = path.resolve(__dirname, '..', '..');
    const proc = spawn(path.join(root, 'node_modules', '.bin', 'mz-local'), ['--help'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
    assert.equal(code, 0, out);
    assert.match(out, /^usage: mz-local \[--host H\]/m);
  });
});
