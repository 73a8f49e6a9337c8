/**
 * Claims on IAM names, so two onboardings (or an onboarding and an offboarding) never write the same role or
 * policy at the same time. IAM has no conditional writes, and a tag check followed by a write is a race; but
 * Temporal runs at most one open workflow per workflow id in a namespace. So a run claims each name by starting a
 * child workflow whose id is derived from the account and the name, holds it while it checks and writes, and
 * releases it at the end; a second run that finds the claim taken fails at once, before its first write, naming
 * the run that holds it. The parent-close policy ends a claim whose run ended without releasing it.
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  CancellationScope,
  ParentClosePolicy,
  condition,
  defineSignal,
  setHandler,
  startChild,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';

export const releaseClaimSignal = defineSignal('release');

/** One claim, held until released (or until its run ends: the parent-close policy terminates it). */
export async function iamNameClaim(input: { name: string; heldBy: string }): Promise<{ name: string; heldBy: string }> {
  let released = false;
  setHandler(releaseClaimSignal, () => {
    released = true;
  });
  await condition(() => released);
  return input;
}

/** The workflow id of the claim on an IAM name, e.g. `mz-s3-export-claim:123456789012:role/mz-s3-export`. */
export function claimId(accountId: string, kind: 'role' | 'policy', name: string): string {
  return `mz-s3-export-claim:${accountId}:${kind}/${name}`;
}

/**
 * Runs `body` holding a claim on every id; a claim another run holds ends this one through `conflict` (which
 * throws) before `body` starts. Claims are released when `body` settles, even when it fails or is cancelled.
 */
export async function withClaims<T>(ids: string[], conflict: (message: string) => never, body: () => Promise<T>): Promise<T> {
  const held: ChildWorkflowHandle<typeof iamNameClaim>[] = [];
  const heldBy = workflowInfo().workflowId;
  try {
    for (const id of ids) {
      try {
        held.push(
          await startChild(iamNameClaim, {
            workflowId: id,
            args: [{ name: id, heldBy }],
            parentClosePolicy: ParentClosePolicy.TERMINATE,
          }),
        );
      } catch (e) {
        if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
        conflict(
          `another run holds ${id.replace(/^mz-s3-export-claim:\d+:/, '')} right now (claim workflow ${id}; its parent is the run onboarding or offboarding it): wait for that run to finish and start this one again, or choose another name`,
        );
      }
    }
    return await body();
  } finally {
    await CancellationScope.nonCancellable(async () => {
      for (const claim of held) {
        await claim.signal(releaseClaimSignal);
        await claim.result();
      }
    });
  }
}
