/** `mz-s3-export worker`: run the worker in the foreground (Ctrl-C stops it gracefully). */
import { runWorker } from '../../worker/main';

export const usage = `worker                                                      run a worker on TEMPORAL_TASK_QUEUE (default mz-s3-export)`;

export async function run(): Promise<void> {
  await runWorker();
}
