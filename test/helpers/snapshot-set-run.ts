/** Starting snapshot sets on the local stack and reading what they published. */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { SnapshotSetInput, SnapshotSetMember, SetManifest } from '../../common/export/snapshot-set';
import type { TestAwsConnection } from './aws-connection';
import { getJson, listKeys } from './export-readback';
import { FAST_TUNING } from './export-run';
import type { TestStack } from './stack';
import { snapshotSet } from '../../workflows';

export function setInput(conn: TestAwsConnection, members: SnapshotSetMember[], fields: Partial<SnapshotSetInput> = {}): SnapshotSetInput {
  return {
    setName: `s-${randomUUID().slice(0, 8)}`,
    connectionName: conn.connectionName,
    bucket: conn.bucket,
    prefix: conn.prefix,
    members,
    tuning: FAST_TUNING,
    ...fields,
  };
}

export function startSet(stack: TestStack, input: SnapshotSetInput, opts: { workflowId?: string; taskQueue?: string } = {}): Promise<WorkflowHandle> {
  return stack.temporal.workflow.start(snapshotSet, {
    taskQueue: opts.taskQueue ?? stack.taskQueue,
    workflowId: opts.workflowId ?? `set-test-${randomUUID()}`,
    args: [input],
    workflowExecutionTimeout: '4 minutes',
  });
}

export async function readSetManifest(stack: TestStack, uri: string): Promise<SetManifest> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!;
  return getJson<SetManifest>(stack, m[1], m[2]);
}

/** Every key under the set's folder (its own logical time folders and its members'). */
export function setKeys(stack: TestStack, input: SnapshotSetInput): Promise<string[]> {
  return listKeys(stack, input.bucket, `${input.prefix}/${input.setName}/`);
}
