/** One structured log line per event (JSON), with anything that looks like a secret redacted. */
import { redactUrlsIn } from './connection-url';
import { scrub } from './secret-values';

export type Level = 'debug' | 'info' | 'warn' | 'error';

const SECRET_KEYS = /password|secret|token|api[-_]?key|authorization|credential/i;

export function redact(value: unknown): unknown {
  if (typeof value === 'string') return scrub(redactUrlsIn(value));
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEYS.test(k) ? '***' : redact(v)]),
    );
  }
  return value;
}

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** LOG_LEVEL (debug, info, warn, error; default info); an unknown value keeps info and says so once. */
export function logLevelFromEnv(value = process.env.LOG_LEVEL): Level {
  const v = (value ?? '').trim().toLowerCase();
  if (!v) return 'info';
  if (v in RANK) return v as Level;
  if (v === 'warning') return 'warn';
  if (v === 'trace') return 'debug';
  process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), level: 'warn', msg: `LOG_LEVEL "${value}" is not debug, info, warn or error; using info` }) + '\n');
  return 'info';
}

let threshold = RANK[logLevelFromEnv()];

/** For the worker's start, after it has read its configuration. */
export function setLogLevel(level: Level): void {
  threshold = RANK[level];
}

export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  if (RANK[level] < threshold) return;
  const line = JSON.stringify({ ts: new Date().toISOString(), level, msg: redact(message), ...(redact(fields) as object) });
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(line + '\n');
}
