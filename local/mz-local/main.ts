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
import { startMzLocal, type MzLocalOptions } from './server';
import { parseArgs } from './cli-args';

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
