/**
 * Heartbeats while an activity waits on pg or S3, so a worker that dies is noticed within the workflow's
 * heartbeatTimeout (seconds) instead of its startToCloseTimeout (minutes). startToClose stays the outer bound for
 * a worker that is alive but stuck.
 *
 * Outside an activity (a test calling a factory's functions directly) the work simply runs.
 */
import { asyncLocalStorage, type Context } from '@temporalio/activity';

/** Without a heartbeatTimeout (nothing waits for the beats) one beat every few seconds is plenty. */
const DEFAULT_INTERVAL_MS = 5_000;

/** The details each activity last reported, repeated by the interval beats so they are not blanked. */
const lastDetails = new WeakMap<Context, unknown>();

/**
 * How often to heartbeat: a third of the heartbeat timeout, so two beats may be late before the server gives up
 * (the SDK sends at most one per 0.8 x timeout anyway), between 200 ms and 5 s.
 */
export function heartbeatIntervalMs(heartbeatTimeoutMs: number | undefined): number {
  if (!heartbeatTimeoutMs) return DEFAULT_INTERVAL_MS;
  return Math.min(DEFAULT_INTERVAL_MS, Math.max(200, Math.floor(heartbeatTimeoutMs / 3)));
}

/** Reports progress now (shown in the Web UI); later interval beats of heartbeatWhile carry the same details. */
export function heartbeat(details: unknown): void {
  const ctx = asyncLocalStorage.getStore();
  if (!ctx) return;
  lastDetails.set(ctx, details);
  ctx.heartbeat(details);
}

/**
 * Runs `work`, heartbeating on an interval until it settles. The first beat comes after one interval, not at
 * once: the server's heartbeat timeout runs from the activity's start anyway, and each recorded heartbeat is a
 * billable action on Temporal Cloud, so an activity shorter than the interval records none.
 */
export async function heartbeatWhile<T>(work: () => Promise<T>): Promise<T> {
  const ctx = asyncLocalStorage.getStore();
  if (!ctx) return work();
  const beat = () => ctx.heartbeat(lastDetails.get(ctx));
  const timer = setInterval(beat, heartbeatIntervalMs(ctx.info.heartbeatTimeoutMs));
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** Wraps every activity of a factory's result in heartbeatWhile. */
export function heartbeating<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    const wrapped = (...args: never[]) => heartbeatWhile(() => fn(...args));
    // Keep the function's name for logs and stack traces (the worker registers activities by key).
    Object.defineProperty(wrapped, 'name', { value: name });
    out[name] = wrapped;
  }
  return out as T;
}
