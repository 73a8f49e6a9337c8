/**
 * A workflow interceptor module (registered by the worker, not exported from index.ts): when a bulkExport or
 * snapshotSet run ends, it tells the worker process through a sink, which counts it in the worker's Prometheus metrics
 * (worker/metrics.ts). Sinks are not called during replay, so a run is counted once, by the worker that ran
 * its last step. A failed workflow task (a bug) is not an outcome: only Temporal failures end a run.
 */
import {
  isCancellation,
  proxySinks,
  TemporalFailure,
  workflowInfo,
  type Sinks,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type Next,
} from '@temporalio/workflow';

export interface ExportOutcome {
  exportName: string;
  outcome: 'succeeded' | 'failed' | 'cancelled';
  /** Rows and bytes of a new publication; 0 when the run returned an earlier publication or failed. */
  rows: number;
  bytes: number;
  published: boolean;
  /** A publication's logical time and the Materialize timestamp its data reflects (freshness). */
  logicalTime?: string;
  materializeTimestamp?: string;
}

export interface ExportOutcomeSinks extends Sinks {
  exportOutcome: { ended(outcome: ExportOutcome): void };
}

const { exportOutcome } = proxySinks<ExportOutcomeSinks>();

class ExportOutcomeInbound implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const type = workflowInfo().workflowType;
    if (type !== 'bulkExport' && type !== 'snapshotSet') return next(input);
    const args = input.args[0] as { exportName?: unknown; setName?: unknown } | undefined;
    const raw = type === 'snapshotSet' ? args?.setName : args?.exportName;
    const exportName = typeof raw === 'string' ? raw.slice(0, 100) : '(invalid)';
    try {
      const result = (await next(input)) as {
        rows?: number;
        bytes?: number;
        reusedExisting?: boolean;
        staged?: unknown;
        logicalTime?: string;
        materialize?: { timestamp?: string };
      };
      // A snapshot set's member only stages; its set publishes (and is counted) once.
      const published = !result.reusedExisting && !result.staged;
      exportOutcome.ended({
        exportName,
        outcome: 'succeeded',
        published,
        rows: published ? (result.rows ?? 0) : 0,
        bytes: published ? (result.bytes ?? 0) : 0,
        ...(published && result.logicalTime ? { logicalTime: result.logicalTime } : {}),
        ...(published && result.materialize?.timestamp ? { materializeTimestamp: result.materialize.timestamp } : {}),
      });
      return result;
    } catch (e) {
      if (isCancellation(e)) exportOutcome.ended({ exportName, outcome: 'cancelled', published: false, rows: 0, bytes: 0 });
      else if (e instanceof TemporalFailure) exportOutcome.ended({ exportName, outcome: 'failed', published: false, rows: 0, bytes: 0 });
      throw e;
    }
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new ExportOutcomeInbound()] });
