/**
 * TLS: an SSLRequest answered 'S' and the session continued over TLS (the Postgres protocol's SSL negotiation, as
 * Materialize's pgwire serves it with its certificate: src/pgwire/src/server.rs), with a certificate from a throwaway
 * CA made at test time, so a client can use sslmode=verify-full with sslrootcert. Plain connections still work.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import type { MzLocalServer } from '../../local/mz-local/server';
import { expectPgError, startServer, useSuite, type SharedStack } from './helpers';

/** A throwaway CA and a server certificate for 127.0.0.1 / localhost it signed (openssl, EC P-256, one day). */
function throwawayCertificates(dir: string, name: string): { ca: string; cert: string; key: string } {
  const f = (x: string) => path.join(dir, `${name}-${x}`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', `/CN=${name} test CA`], { stdio: 'ignore' });
  execFileSync('openssl', ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  fs.writeFileSync(f('ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  execFileSync(
    'openssl',
    ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '1', '-extfile', f('ext')],
    { stdio: 'ignore' },
  );
  return { ca: f('ca.crt'), cert: fs.readFileSync(f('server.crt'), 'utf8'), key: fs.readFileSync(f('server.key'), 'utf8') };
}

describe('mz-local TLS (--tls-cert / --tls-key)', function () {
  let stack: SharedStack;
  let server: MzLocalServer;
  let dir: string;
  let ca: string;
  let otherCa: string;
  useSuite({ clients: 0 }, (t) => ({ stack } = t));

  before(async function () {
    this.timeout(180_000); // starting PGlite takes 30-40 s on a loaded 2-core machine
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mz-local-tls-'));
    const certs = throwawayCertificates(dir, 'good');
    ca = certs.ca;
    otherCa = throwawayCertificates(dir, 'other').ca;
    server = await startServer(stack.moto, { tlsCert: certs.cert, tlsKey: certs.key });
  });
  after(async () => {
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves sslmode=verify-full with sslrootcert (the certificate checked against the CA and the host)', async () => {
    const c = new Client({ connectionString: `postgres://materialize@127.0.0.1:${server.port}/materialize?sslmode=verify-full&sslrootcert=${ca}` });
    await c.connect();
    try {
      assert.equal((await c.query('SELECT 1 AS one')).rows[0].one, 1);
      const encrypted = (c as unknown as { connection: { stream: { encrypted?: boolean; getProtocol?: () => string } } }).connection.stream;
      assert.equal(encrypted.encrypted, true);
      assert.match(encrypted.getProtocol?.() ?? '', /^TLSv1\.[23]$/);
    } finally {
      await c.end();
    }
  });

  it('a client trusting another CA refuses the server; a plain connection is still served', async () => {
    const bad = new Client({ connectionString: `postgres://materialize@127.0.0.1:${server.port}/materialize?sslmode=verify-full&sslrootcert=${otherCa}` });
    bad.on('error', () => undefined);
    const e = await expectPgError(() => bad.connect());
    assert.match(String((e as unknown as Error).message), /self[- ]signed|unable to verify|certificate/i);
    const plain = new Client({ host: '127.0.0.1', port: server.port, user: 'materialize', database: 'materialize' });
    await plain.connect();
    assert.equal((await plain.query('SELECT 2 AS two')).rows[0].two, 2);
    await plain.end();
  });
});
