/**
 * Is a worker polling the task queue? A run started where nothing polls waits silently forever, so waiting
 * commands ask Temporal first (DescribeTaskQueue lists the pollers it saw, for workflow and activity tasks) and
 * say which queue has no worker and how to start one, within seconds instead of after a timeout.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { CliError } from './args';

const { TaskQueueKind, TaskQueueType } = temporal.api.enums.v1;

/**
 * Temporal keeps a poller in the list for minutes after its last poll; a live worker's pollers come back at
 * least once a minute (a long poll ends after about 60 s), so older ones belong to stopped workers.
 */
const LIVE_POLLER_AGE_MS = 2 * 60_000;

export interface QueuePollers {
  workflow: number;
  activity: number;
}

export async function livePollers(client: Client, taskQueue: string, now = Date.now()): Promise<QueuePollers> {
  const count = async (taskQueueType: temporal.api.enums.v1.TaskQueueType) => {
    const res = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType,
    });
    return (res.pollers ?? []).filter((p) => {
      const s = p.lastAccessTime?.seconds;
      return s === undefined || s === null || now - Number(s) * 1000 < LIVE_POLLER_AGE_MS;
    }).length;
  };
  const [workflow, activity] = await Promise.all([count(TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW), count(TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)]);
  return { workflow, activity };
}

/** What is missing, in words, or undefined when both kinds of task have a poller. */
export function missingWorkerText(taskQueue: string, namespace: string, p: QueuePollers): string | undefined {
  if (p.workflow > 0 && p.activity > 0) return undefined;
  const which = p.workflow === 0 && p.activity === 0 ? 'no worker polls' : `no worker polls the ${p.workflow === 0 ? 'workflow' : 'activity'} tasks of`;
  return (
    `${which} task queue "${taskQueue}" (namespace ${namespace}). Start one with 'mz-s3-export worker' ` +
    `(TEMPORAL_TASK_QUEUE=${taskQueue}, the same TEMPORAL_ADDRESS), or 'docker compose up worker'`
  );
}

export class NoWorkerError extends CliError {
  override name = 'NoWorkerError';
  constructor(message: string) {
    super(message, 3);
  }
}

/** What a command does when no worker polls: refuse before starting, start and wait for one, or only queue the run. */
export type NoWorkerMode = 'refuse' | 'wait' | 'queue';

export function noWorkerMode(flags: { 'wait-for-worker'?: unknown; 'no-wait'?: unknown }): NoWorkerMode {
  return flags['no-wait'] ? 'queue' : flags['wait-for-worker'] ? 'wait' : 'refuse';
}

/** Refuses (NoWorkerError, exit 3) when no worker polls the queue, before anything is started; else warns. */
export async function requireWorker(client: Client, taskQueue: string, mode: NoWorkerMode, warn: (line: string) => void): Promise<void> {
  const missing = missingWorkerText(taskQueue, client.options.namespace, await livePollers(client, taskQueue));
  if (!missing) return;
  if (mode === 'refuse') throw new NoWorkerError(`${missing}; or pass --wait-for-worker to start anyway and wait for one.`);
  warn(mode === 'wait' ? `${missing}. Waiting for one (--wait-for-worker); Ctrl-C stops waiting.` : `${missing}. The run is queued until one polls.`);
}
