/** mz-local's command line flags, parsed with node:util parseArgs in strict mode: an unknown flag is an error. */
import { readFileSync } from 'node:fs';
import { parseArgs as parseArgv, type ParseArgsConfig } from 'node:util';
import type { MzLocalOptions } from './server';

const USAGE = `usage: mz-local [--host H] [--port P] [--aws-endpoint URL] [--region R] [--principal ARN]
                [--environment-id UUID] [--data-dir DIR] [--propagation-delay-seconds N] [--workers N]
                [--sample-data] [--password PW] [--password-method cleartext|md5]
                [--tls-cert FILE --tls-key FILE]`;

/** The flags mz-local takes (node:util parseArgs, strict: an unknown flag or a missing value is an error). */
export const FLAGS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'aws-endpoint': { type: 'string' },
  region: { type: 'string' },
  principal: { type: 'string' },
  'environment-id': { type: 'string' },
  'data-dir': { type: 'string' },
  'propagation-delay-seconds': { type: 'string' },
  workers: { type: 'string' },
  'sample-data': { type: 'boolean' },
  password: { type: 'string' },
  'password-method': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseArgs(argv: string[]): MzLocalOptions {
  let values: ReturnType<typeof parseArgv<{ args: string[]; options: typeof FLAGS; strict: true }>>['values'];
  try {
    ({ values } = parseArgv({ args: argv, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  const num = (flag: keyof typeof FLAGS, min: number): number | undefined => {
    const v = values[flag] as string | undefined;
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new Error(`--${flag} must be a number >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  const environmentId = values['environment-id'];
  if (environmentId !== undefined && !UUID.test(environmentId)) throw new Error(`--environment-id must be a UUID, got ${environmentId}`);
  const passwordMethod = values['password-method'];
  if (passwordMethod !== undefined && passwordMethod !== 'cleartext' && passwordMethod !== 'md5') throw new Error('--password-method must be cleartext or md5');
  const workers = num('workers', 1);
  const opts: MzLocalOptions = {
    host: values.host,
    port: num('port', 0),
    awsEndpoint: values['aws-endpoint'],
    region: values.region,
    principal: values.principal,
    environmentId,
    dataDir: values['data-dir'],
    propagationDelaySeconds: num('propagation-delay-seconds', 0),
    workers: workers === undefined ? undefined : Math.floor(workers),
    sampleData: values['sample-data'],
    password: values.password,
    passwordMethod,
    tlsCert: values['tls-cert'] === undefined ? undefined : readFileSync(values['tls-cert'], 'utf8'),
    tlsKey: values['tls-key'] === undefined ? undefined : readFileSync(values['tls-key'], 'utf8'),
  };
  // Only what was given: the server's defaults apply to the rest.
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as MzLocalOptions;
}
