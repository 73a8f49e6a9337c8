/** A real worker in its own process, so tests can kill -9 it and start another, as a crash would. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnWorker } from '../../local/stack';
import { stopProcessGroup, waitUntil, type StartedProcess } from '../../local/processes';

export interface WorkerProcess {
  proc: StartedProcess;
  /** SIGKILL the whole process group: no graceful shutdown, like a crashed machine. */
  kill(): Promise<void>;
  /** SIGTERM and wait: the graceful path. */
  stop(): Promise<void>;
}

export async function startWorkerProcess(
  env: Record<string, string>,
  opts: { logDir: string; name?: string } ,
): Promise<WorkerProcess> {
  const name = opts.name ?? `worker-${env.TEMPORAL_TASK_QUEUE ?? 'mz-s3-export'}`;
  const logFile = path.join(opts.logDir, `${name}.log`);
  fs.mkdirSync(opts.logDir, { recursive: true });
  const startOffset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  const proc = spawnWorker(name, { ...process.env, ...env }, { logDir: opts.logDir });
  await waitUntil(
    `worker ${name}`,
    async () => fs.readFileSync(logFile, 'utf8').slice(startOffset).includes('"worker started"'),
    { timeoutMs: 90_000, intervalMs: 200, logFile, exited: proc.exited },
  );
  return {
    proc,
    kill: async () => {
      try {
        process.kill(-proc.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      await proc.exited;
    },
    stop: () => stopProcessGroup(proc.pid, 15_000),
  };
}
