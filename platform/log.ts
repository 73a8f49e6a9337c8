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

export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ ts: new Date().toISOString(), level, msg: redact(message), ...(redact(fields) as object) });
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(line + '\n');
}
