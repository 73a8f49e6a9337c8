/**
 * Starting, waiting on and stopping the local servers: each runs in its own process group so a stop takes its
 * children too; logs go to a file; a missing binary or a taken port is a clear error before anything starts.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export interface StartedProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function isPortOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  if (await isPortOpen(host, port)) {
    throw new Error(
      `port ${host}:${port} for ${what} is taken by another process; stop it (mz-s3-export stack down, or find it with 'ss -ltnp') or choose another port`,
    );
  }
}

export function spawnLogged(
  name: string,
  command: string,
  args: string[],
  opts: { logDir: string; env?: NodeJS.ProcessEnv; cwd?: string; detached?: boolean },
): StartedProcess {
  if (command.includes('/') && !fs.existsSync(command)) {
    throw new Error(`${name}: ${command} is missing; run 'npm run provision' (local/provision.sh) to install it`);
  }
  fs.mkdirSync(opts.logDir, { recursive: true });
  const logFile = path.join(opts.logDir, `${name}.log`);
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', fd, fd],
    detached: true, // own process group: stop() kills its children as well
  });
  fs.closeSync(fd);
  if (opts.detached) child.unref();
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  if (!child.pid) throw new Error(`${name}: could not start ${command}`);
  return { name, pid: child.pid, logFile, exited };
}

export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; logFile?: string; exited?: Promise<unknown>; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let dead = false;
  opts.exited?.then(() => (dead = true));
  while (Date.now() < deadline) {
    opts.signal?.throwIfAborted();
    if (await check().catch(() => false)) return;
    if (dead) break;
    await sleep(opts.intervalMs ?? 200);
  }
  const tail = opts.logFile ? `\n--- last lines of ${opts.logFile} ---\n${tailFile(opts.logFile, 20)}` : '';
  throw new Error(`${what} ${dead ? 'exited' : `did not become ready within ${opts.timeoutMs} ms`}${tail}`);
}

export function tailFile(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM the process group, then SIGKILL whatever is left after the grace period. */
export async function stopProcessGroup(pid: number, graceMs = 5000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  if (!isAlive(pid)) return;
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(pid)) await sleep(50);
  signal('SIGKILL');
  while (isAlive(pid) && Date.now() < deadline + 2000) await sleep(50);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
