/** Line-oriented logging to stdout (mz-local's log), quiet when embedded in tests unless asked. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export function createLogger(opts: { level?: LogLevel; quiet?: boolean; write?: (line: string) => void } = {}): Logger {
  const min = order[opts.level ?? (process.env.MZ_LOCAL_LOG_LEVEL as LogLevel) ?? 'info'] ?? order.info;
  const write = opts.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const emit = (level: LogLevel, msg: string) => {
    if (opts.quiet || order[level] < min) return;
    write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
