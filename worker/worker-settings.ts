/**
 * Settings only the worker process reads, validated at start like lib/config.ts (a wrong value is an error naming
 * the variable): LOG_LEVEL, the HTTP endpoint for metrics and health, the SDK's Prometheus endpoint, and the
 * worker deployment version for safe rolling deploys (docs/operations.md).
 */
import { InvalidInputError } from '../common/failures';
import { parseHostPort } from '../platform/config';
import type { Level } from '../platform/log';

export interface WorkerSettings {
  logLevel: Level;
  /** host:port for /metrics, /healthz, /readyz (MZ_S3_EXPORT_HTTP_ADDRESS); off when unset. */
  httpAddress?: string;
  /** host:port where the SDK serves its own Prometheus metrics (MZ_S3_EXPORT_SDK_METRICS_ADDRESS); off when unset. */
  sdkMetricsAddress?: string;
  /** How much the worker takes on at once; sizing rule in docs/operations.md ("Sizing a worker"). */
  capacity: WorkerCapacity;
  /** Worker Deployment versioning, on when MZ_S3_EXPORT_BUILD_ID is set. */
  deployment?: { deploymentName: string; buildId: string; defaultVersioningBehavior: 'PINNED' | 'AUTO_UPGRADE' };
}

export interface WorkerCapacity {
  /** Workflows kept in memory between their tasks (MZ_S3_EXPORT_MAX_CACHED_WORKFLOWS); others are replayed on their next task. */
  maxCachedWorkflows: number;
  /** Activities running at once (MZ_S3_EXPORT_MAX_CONCURRENT_ACTIVITIES): COPYs, S3 completion checks and verification. */
  maxConcurrentActivities: number;
  /** Workflow tasks running at once (MZ_S3_EXPORT_MAX_CONCURRENT_WORKFLOW_TASKS). */
  maxConcurrentWorkflowTasks: number;
}

/**
 * An export spends nearly all its time waiting on Materialize and S3, so its workflow needs the worker only while
 * a task runs: 1,000 exports in flight on one worker succeed with these slots (docs/benchmarks.md). The cache
 * replaces the SDK's default (sized from the V8 heap limit, thousands of workflows): evicted workflows are
 * replayed from their short history (about 18 events) when their next task comes.
 */
export const DEFAULT_CAPACITY: WorkerCapacity = { maxCachedWorkflows: 200, maxConcurrentActivities: 100, maxConcurrentWorkflowTasks: 40 };

type Env = Record<string, string | undefined>;

export function loadWorkerSettings(env: Env = process.env): WorkerSettings {
  const problems: string[] = [];
  const level = (env.LOG_LEVEL ?? 'info').trim().toLowerCase();
  const levels: Record<string, Level> = { debug: 'debug', trace: 'debug', info: 'info', warn: 'warn', warning: 'warn', error: 'error' };
  if (!(level in levels)) problems.push(`LOG_LEVEL: "${env.LOG_LEVEL}" is not one of debug, info, warn, error`);
  const address = (name: string) => {
    const v = env[name];
    if (!v) return undefined;
    try {
      return parseHostPort(v);
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message.replace('127.0.0.1:7233', '0.0.0.0:9464')}`);
      return undefined;
    }
  };
  const httpAddress = address('MZ_S3_EXPORT_HTTP_ADDRESS');
  const sdkMetricsAddress = address('MZ_S3_EXPORT_SDK_METRICS_ADDRESS');
  if (httpAddress && httpAddress === sdkMetricsAddress) problems.push('MZ_S3_EXPORT_SDK_METRICS_ADDRESS: must differ from MZ_S3_EXPORT_HTTP_ADDRESS');
  const count = (name: string, fallback: number, min: number, max: number) => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}: "${raw}" must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const capacity: WorkerCapacity = {
    maxCachedWorkflows: count('MZ_S3_EXPORT_MAX_CACHED_WORKFLOWS', DEFAULT_CAPACITY.maxCachedWorkflows, 2, 100_000),
    maxConcurrentActivities: count('MZ_S3_EXPORT_MAX_CONCURRENT_ACTIVITIES', DEFAULT_CAPACITY.maxConcurrentActivities, 1, 10_000),
    maxConcurrentWorkflowTasks: count('MZ_S3_EXPORT_MAX_CONCURRENT_WORKFLOW_TASKS', DEFAULT_CAPACITY.maxConcurrentWorkflowTasks, 2, 1000),
  };
  // The SDK caps workflow tasks at the cache size (each running task holds a cached workflow).
  if (capacity.maxConcurrentWorkflowTasks > capacity.maxCachedWorkflows) {
    problems.push(
      `MZ_S3_EXPORT_MAX_CONCURRENT_WORKFLOW_TASKS: ${capacity.maxConcurrentWorkflowTasks} is above MZ_S3_EXPORT_MAX_CACHED_WORKFLOWS (${capacity.maxCachedWorkflows}); lower it or raise the cache`,
    );
  }
  let deployment: WorkerSettings['deployment'];
  const buildId = env.MZ_S3_EXPORT_BUILD_ID?.trim();
  if (buildId) {
    const behavior = (env.MZ_S3_EXPORT_VERSIONING_BEHAVIOR ?? 'PINNED').toUpperCase();
    if (behavior !== 'PINNED' && behavior !== 'AUTO_UPGRADE') problems.push(`MZ_S3_EXPORT_VERSIONING_BEHAVIOR: "${behavior}" is not PINNED or AUTO_UPGRADE`);
    if (!/^[A-Za-z0-9._-]{1,255}$/.test(buildId)) problems.push(`MZ_S3_EXPORT_BUILD_ID: "${buildId}" may hold only letters, digits, '.', '_' and '-'`);
    deployment = {
      deploymentName: env.MZ_S3_EXPORT_DEPLOYMENT_NAME?.trim() || 'mz-s3-export',
      buildId,
      defaultVersioningBehavior: behavior as 'PINNED' | 'AUTO_UPGRADE',
    };
  }
  if (problems.length) throw new InvalidInputError(`worker configuration is invalid:\n  - ${problems.join('\n  - ')}`);
  return { logLevel: levels[level], httpAddress, sdkMetricsAddress, capacity, deployment };
}
