/** mz-local's command line (local/mz-local/cli-args.ts): node:util parseArgs in strict mode, plus value checks. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from '../../local/mz-local/cli-args';

describe('mz-local command line', () => {
  it('takes every flag, in --flag value and --flag=value form, and leaves out what was not given', () => {
    const cert = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mz-cli-')), 'c.pem');
    fs.writeFileSync(cert, 'PEM');
    const opts = parseArgs([
      '--host', '0.0.0.0', '--port=7000', '--aws-endpoint', 'http://moto:5000', '--region', 'eu-west-1',
      '--environment-id', '0b1c6a2e-0f3d-4b8a-9a51-3c1f2d0e9b7a', '--data-dir', '/d', '--propagation-delay-seconds', '2.5',
      '--workers', '3.9', '--sample-data', '--password', 'pw', '--password-method', 'md5', '--tls-cert', cert, '--tls-key', cert,
    ]);
    assert.deepEqual(opts, {
      host: '0.0.0.0', port: 7000, awsEndpoint: 'http://moto:5000', region: 'eu-west-1',
      environmentId: '0b1c6a2e-0f3d-4b8a-9a51-3c1f2d0e9b7a', dataDir: '/d', propagationDelaySeconds: 2.5, workers: 3,
      sampleData: true, password: 'pw', passwordMethod: 'md5', tlsCert: 'PEM', tlsKey: 'PEM',
    });
    assert.deepEqual(parseArgs([]), {});
  });

  it('refuses an unknown flag, a flag without its value and a stray argument, with the usage', () => {
    assert.throws(() => parseArgs(['--prot', '7000']), /Unknown option '--prot'[\s\S]*usage: mz-local/);
    assert.throws(() => parseArgs(['--port']), /--port.*argument missing[\s\S]*usage: mz-local/);
    assert.throws(() => parseArgs(['7000']), /Unexpected argument '7000'[\s\S]*usage: mz-local/);
  });

  it('checks values: numbers, a UUID environment id, the password method', () => {
    assert.throws(() => parseArgs(['--port', 'x']), /--port must be a number >= 0, got "x"/);
    assert.throws(() => parseArgs(['--port=']), /--port must be a number >= 0, got ""/);
    assert.throws(() => parseArgs(['--workers', '0']), /--workers must be a number >= 1/);
    assert.throws(() => parseArgs(['--propagation-delay-seconds=-1']), /--propagation-delay-seconds must be a number >= 0/);
    assert.throws(() => parseArgs(['--environment-id', 'env-1']), /--environment-id must be a UUID, got env-1/);
    assert.throws(() => parseArgs(['--password-method', 'scram']), /--password-method must be cleartext or md5/);
  });
});
