/** The Temporal SDK's log entries (Runtime logger, bundler) as our JSON lines, at LOG_LEVEL. */
import type { LogEntry } from '@temporalio/worker';
import { log, type Level } from '../platform/log';

export function sdkLogEntry(entry: LogEntry): void {
  const level = entry.level.toLowerCase();
  const ours: Level = level === 'trace' ? 'debug' : (level as Level);
  // webpack's build report arrives as one multi-line message: keep its first line, the rest at debug.
  const [first, ...rest] = entry.message.split('\n');
  log(ours, first, { ...entry.meta, ...(rest.length ? { details: rest.length > 40 ? `${rest.length} more lines` : rest.join('\n') } : {}) });
}
