/** Small helpers the workflow suites share: a run's failure cause, and one SQL query against mz-local. */
import * as assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestStack } from './stack';

/** The cause of a workflow run that must fail (the test fails if it succeeds). */
export async function failureOf(p: Promise<unknown>): Promise<{ type?: string; message: string; nonRetryable?: boolean }> {
  const e = await p.then(
    () => assert.fail('the workflow succeeded, expected a failure'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof WorkflowFailedError, String(e));
  return e.cause as never;
}

/** Rows of one statement on a fresh mz-local session. */
export async function mzRows<T extends object = Record<string, unknown>>(stack: TestStack, text: string): Promise<T[]> {
  const c = await stack.mz();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}
