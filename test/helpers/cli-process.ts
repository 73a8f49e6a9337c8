/** The client script as a user runs it: its own process, output collected, signals delivered like Ctrl-C. */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../local/stack';

export const CLI = path.join(PROJECT_ROOT, 'bin', 'mz-s3-export');

export interface CliProcess {
  pid: number;
  output(): { stdout: string; stderr: string };
  /** Resolves once stdout or stderr matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv, opts: { stdin?: string } = {}): CliProcess {
  const child = spawn(CLI, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(opts.stdin ?? '');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    pid: child.pid!,
    output: () => ({ stdout, stderr }),
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let done = false;
      void exited.then(() => (done = true));
      while (!pattern.test(stdout) && !pattern.test(stderr)) {
        if (done || Date.now() > deadline) throw new Error(`no ${pattern} in the output:\n${stdout}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    exited,
  };
}

/** Runs the client script to its end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, opts: { stdin?: string } = {}) {
  return startCli(args, env, opts).exited;
}

/** Processes whose open files (logs, data) lie under dir: what an interrupted start could leave behind. */
export function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    const uses = fds.some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${entry}/fd/${fd}`).startsWith(dir);
      } catch {
        return false;
      }
    });
    if (uses) pids.push(Number(entry));
  }
  return pids;
}
