/**
 * A throwaway certificate authority for TLS tests, made with the openssl command line in a temporary folder:
 * a CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, all signed by the CA.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ThrowawayCa {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** File paths of the same, for *_PATH variables and sslrootcert. */
  files: { caCert: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
  remove(): void;
}

export function makeThrowawayCa(name = 'mz-s3-export test CA'): ThrowawayCa {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mz-s3-export-ca-'));
  const f = (n: string) => path.join(dir, n);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', f('ca.key'), '-out', f('ca.crt'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const issue = (who: string, subject: string, ext: string) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`));
    fs.writeFileSync(f(`${who}.ext`), ext);
    openssl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2',
      '-extfile', f(`${who}.ext`), '-out', f(`${who}.crt`));
  };
  issue('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  issue('client', '/CN=mz-s3-export-worker', 'extendedKeyUsage=clientAuth\n');
  const read = (n: string) => fs.readFileSync(f(n), 'utf8');
  return {
    dir,
    caCert: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    files: { caCert: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key') },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
