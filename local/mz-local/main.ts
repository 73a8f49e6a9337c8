/**
 * mz-local command line:
 *
 *   node --import tsx local/mz-local/main.ts [--host 127.0.0.1] [--port 6875] [--aws-endpoint URL]
 *     [--region R] [--principal ARN] [--environment-id UUID] [--data-dir DIR]
 *     [--propagation-delay-seconds N] [--workers N] [--sample-data] [--password PW] [--password-method cleartext|md5]
 *     [--tls-cert FILE --tls-key FILE]
 *
 * Prints `mz-local listening on <host>:<port>` when ready; stops cleanly on SIGTERM/SIGINT.
 */
import { readFileSync } from 'node:fs';
import { startMzLocal, type MzLocalOptions } from './server';

const USAGE = `usage: mz-local [--host H] [--port P] [--aws-endpoint URL] [--region R] [--principal ARN]
                [--environment-id UUID] [--data-dir DIR] [--propagation-delay-seconds N] [--workers N]
                [--sample-data] [--password PW] [--password-method cleartext|md5]
                [--tls-cert FILE --tls-key FILE]`;

export function parseArgs(argv: string[]): MzLocalOptions {
  const opts: MzLocalOptions = {};
  const take = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value\n${USAGE}`);
    return v;
  };
  const num = (v: string, flag: string, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${flag} must be a number >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
      argv = [...argv.slice(0, i), arg, inline, ...argv.slice(i + 1)];
    }
    switch (arg) {
      case '--host':
        opts.host = take(i++, arg);
        break;
      case '--port':
        opts.port = num(take(i++, arg), arg, 0);
        break;
      case '--aws-endpoint':
        opts.awsEndpoint = take(i++, arg);
        break;
      case '--region':
        opts.region = take(i++, arg);
        break;
      case '--principal':
        opts.principal = take(i++, arg);
        break;
      case '--environment-id': {
        const v = take(i++, arg);
        if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) throw new Error(`--environment-id must be a UUID, got ${v}`);
        opts.environmentId = v;
        break;
      }
      case '--data-dir':
        opts.dataDir = take(i++, arg);
        break;
      case '--propagation-delay-seconds':
        opts.propagationDelaySeconds = num(take(i++, arg), arg, 0);
        break;
      case '--workers':
        opts.workers = Math.floor(num(take(i++, arg), arg, 1));
        break;
      case '--sample-data':
        opts.sampleData = true;
        break;
      case '--password':
        opts.password = take(i++, arg);
        break;
      case '--password-method': {
        const v = take(i++, arg);
        if (v !== 'cleartext' && v !== 'md5') throw new Error(`--password-method must be cleartext or md5`);
        opts.passwordMethod = v;
        break;
      }
      case '--tls-cert':
        opts.tlsCert = readFileSync(take(i++, arg), 'utf8');
        break;
      case '--tls-key':
        opts.tlsKey = readFileSync(take(i++, arg), 'utf8');
        break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}\n${USAGE}`);
    }
  }
  return opts;
}

export async function main(): Promise<void> {
  // the AWS SDK warns about Node 20 on every start; it says nothing about mz-local
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let opts: MzLocalOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  const server = await startMzLocal(opts);
  process.stdout.write(`mz-local listening on ${server.host}:${server.port}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`received ${signal}, stopping\n`);
    server.close().then(
      () => process.exit(0),
      (e) => {
        process.stderr.write(`error while stopping: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`mz-local failed to start: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
