/**
 * The local stack: the Temporal dev server (with its Web UI), the moto server (S3, IAM, STS) and mz-local
 * (our Materialize stand-in). Used by the tests, the demo and `mz-s3-export stack up|down|status`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes';
import {
  assertPortFree,
  freePort,
  isPortOpen,
  spawnLogged,
  stopProcessGroup,
  waitUntil,
  type StartedProcess,
} from './processes';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
export const VENV_BIN = path.join(PROJECT_ROOT, '.venv', 'bin');
const HOST = '127.0.0.1';
/** How long a server may take to answer after start: a bound against hanging, not a speed target (PGlite loading the
 * sample data takes well over a minute on a loaded 2-core machine). */
const STARTUP_TIMEOUT_MS = 180_000;

export interface StackOptions {
  /** Where logs, state and persisted data go (git-ignored). */
  dir?: string;
  /** Standard ports (7233/8233, 5000, 6875) when false; free ports when true. */
  randomPorts?: boolean;
  /** Keep Temporal's state in a SQLite file under dir, so a restarted dev server resumes its workflows. */
  persist?: boolean;
  /** Start mz-local too (default true). */
  mzLocal?: boolean;
  /** Extra mz-local flags, e.g. ['--sample-data']. */
  mzLocalArgs?: string[];
  /** Leave the servers running after this process exits (stack up). */
  detached?: boolean;
  /**
   * Aborting (Ctrl-C) stops the start: no further server is spawned, and the ones already spawned are stopped
   * before startStack rejects, so an interrupted start leaves nothing running.
   */
  signal?: AbortSignal;
}

/** Options every server start takes: where it runs, and how an interrupted start learns of it. */
interface SpawnOptions {
  detached?: boolean;
  signal?: AbortSignal;
  /** Called right after the process is spawned, before it is ready, so an interruption can stop it. */
  onSpawn?: (proc: StartedProcess) => void;
}

export interface ServiceInfo {
  name: 'temporal' | 'moto' | 'mz-local';
  pid: number;
  port: number;
  logFile: string;
}

export interface StackInfo {
  temporalAddress: string;
  temporalUiUrl: string;
  awsEndpoint: string;
  mzUrl: string;
  services: ServiceInfo[];
  dir: string;
}

/** Environment variables that point every part of the project (worker, CLI, tests) at this stack. */
export function stackEnv(info: StackInfo): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: info.temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    AWS_ENDPOINT_URL: info.awsEndpoint,
    AWS_REGION: 'us-east-1',
    // moto accepts any credentials; real ones never belong here.
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    MZ_URL: info.mzUrl,
  };
}

/**
 * Starts a worker through bin/mz-s3-export-worker, the launcher the Dockerfile and `npm run worker` use (so its heap
 * sizing applies everywhere), on the Node running this process. `env` is the worker's whole environment.
 */
export function spawnWorker(name: string, env: NodeJS.ProcessEnv, opts: { logDir: string; detached?: boolean }): StartedProcess {
  return spawnLogged(name, path.join(PROJECT_ROOT, 'bin', 'mz-s3-export-worker'), [], {
    logDir: opts.logDir,
    cwd: PROJECT_ROOT,
    env: { ...env, NODE: process.execPath },
    detached: opts.detached,
  });
}

/** Where `stack up` keeps its state, logs and data: MZ_S3_EXPORT_STATE_DIR, else .local in the project. */
export function defaultStackDir(): string {
  return process.env.MZ_S3_EXPORT_STATE_DIR || path.join(PROJECT_ROOT, '.local');
}

export async function startTemporal(
  dir: string,
  ports: { grpc: number; ui: number },
  opts: { persist?: boolean; /** false: a bare server, as a cluster nobody set up (tests) */ searchAttributes?: boolean } & SpawnOptions = {},
): Promise<{ proc: StartedProcess; address: string; uiUrl: string }> {
  await assertPortFree(HOST, ports.grpc, 'the Temporal dev server');
  await assertPortFree(HOST, ports.ui, 'the Temporal Web UI');
  const args = ['server', 'start-dev', '--ip', HOST, '--port', String(ports.grpc), '--ui-port', String(ports.ui)];
  args.push('--log-level', 'warn', '--namespace', 'default');
  if (opts.persist) args.push('--db-filename', path.join(dir, 'temporal.sqlite'));
  if (opts.searchAttributes !== false) {
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  }
  opts.signal?.throwIfAborted();
  const proc = spawnLogged('temporal', path.join(VENV_BIN, 'temporal'), args, {
    logDir: path.join(dir, 'logs'),
    detached: opts.detached,
  });
  opts.onSpawn?.(proc);
  const address = `${HOST}:${ports.grpc}`;
  await waitUntil('the Temporal dev server', () => temporalAnswers(address), {
    timeoutMs: STARTUP_TIMEOUT_MS,
    intervalMs: 250,
    logFile: proc.logFile,
    exited: proc.exited,
    signal: opts.signal,
  });
  return { proc, address, uiUrl: `http://${HOST}:${ports.ui}` };
}

/** True once the frontend answers and the default namespace with our search attributes is usable. */
export async function temporalAnswers(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await connection.workflowService.describeNamespace({ namespace: 'default' });
    return true;
  } finally {
    await connection.close();
  }
}

export async function startMoto(
  dir: string,
  port: number,
  opts: SpawnOptions = {},
): Promise<{ proc: StartedProcess; endpoint: string }> {
  await assertPortFree(HOST, port, 'the moto server');
  opts.signal?.throwIfAborted();
  const proc = spawnLogged('moto', path.join(VENV_BIN, 'moto_server'), ['-H', HOST, '-p', String(port)], {
    logDir: path.join(dir, 'logs'),
    detached: opts.detached,
  });
  opts.onSpawn?.(proc);
  const endpoint = `http://${HOST}:${port}`;
  await waitUntil('the moto server', async () => (await fetch(`${endpoint}/moto-api/`)).ok, {
    timeoutMs: 30_000,
    logFile: proc.logFile,
    exited: proc.exited,
    signal: opts.signal,
  });
  return { proc, endpoint };
}

export async function startMzLocal(
  dir: string,
  port: number,
  awsEndpoint: string,
  opts: { args?: string[]; env?: Record<string, string> } & SpawnOptions = {},
): Promise<{ proc: StartedProcess; url: string }> {
  await assertPortFree(HOST, port, 'mz-local');
  const args = ['--import', 'tsx', path.join(PROJECT_ROOT, 'local', 'mz-local', 'main.ts')];
  args.push('--host', HOST, '--port', String(port), '--aws-endpoint', awsEndpoint);
  args.push('--data-dir', path.join(dir, 'mz-data'), ...(opts.args ?? []));
  opts.signal?.throwIfAborted();
  const proc = spawnLogged('mz-local', process.execPath, args, {
    logDir: path.join(dir, 'logs'),
    cwd: PROJECT_ROOT,
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1', ...opts.env },
    detached: opts.detached,
  });
  opts.onSpawn?.(proc);
  await waitUntil('mz-local', () => isPortOpen(HOST, port), {
    timeoutMs: STARTUP_TIMEOUT_MS,
    logFile: proc.logFile,
    exited: proc.exited,
    signal: opts.signal,
  });
  return { proc, url: `postgres://materialize@${HOST}:${port}/materialize` };
}

/** Starts all servers; on any failure stops what it already started, so nothing is left behind. */
export async function startStack(opts: StackOptions = {}): Promise<StackInfo> {
  const dir = opts.dir ?? defaultStackDir();
  fs.mkdirSync(dir, { recursive: true });
  const pick = async (standard: number) => (opts.randomPorts ? freePort() : standard);
  // Recorded at spawn, not when ready: a start that fails or is interrupted stops every process it spawned.
  const started: ServiceInfo[] = [];
  const spawnOpts = (name: ServiceInfo['name'], port: number): SpawnOptions => ({
    detached: opts.detached,
    signal: opts.signal,
    onSpawn: (proc) => started.push({ name, pid: proc.pid, port, logFile: proc.logFile }),
  });
  try {
    const [grpc, ui, motoPort, mzPort] = [await pick(7233), await pick(8233), await pick(5000), await pick(6875)];
    const moto = await startMoto(dir, motoPort, spawnOpts('moto', motoPort));
    const temporal = await startTemporal(dir, { grpc, ui }, { persist: opts.persist, ...spawnOpts('temporal', grpc) });
    let mzUrl = `postgres://materialize@${HOST}:${mzPort}/materialize`;
    if (opts.mzLocal !== false) {
      const mz = await startMzLocal(dir, mzPort, moto.endpoint, { args: opts.mzLocalArgs, ...spawnOpts('mz-local', mzPort) });
      mzUrl = mz.url;
    }
    return {
      temporalAddress: temporal.address,
      temporalUiUrl: temporal.uiUrl,
      awsEndpoint: moto.endpoint,
      mzUrl,
      services: started,
      dir,
    };
  } catch (e) {
    await Promise.all(started.map((s) => stopProcessGroup(s.pid)));
    throw e;
  }
}

export async function stopStack(info: Pick<StackInfo, 'services'>): Promise<void> {
  // mz-local first (it talks to moto), Temporal and moto after.
  const order = ['mz-local', 'temporal', 'moto'];
  const sorted = [...info.services].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  for (const s of sorted) await stopProcessGroup(s.pid);
}

const stateFile = (dir: string) => path.join(dir, 'stack.json');

export function saveStackState(info: StackInfo): void {
  fs.writeFileSync(stateFile(info.dir), JSON.stringify(info, null, 2));
}

export function loadStackState(dir = defaultStackDir()): StackInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(dir), 'utf8')) as StackInfo;
  } catch {
    return undefined;
  }
}

export function clearStackState(dir = defaultStackDir()): void {
  fs.rmSync(stateFile(dir), { force: true });
}
