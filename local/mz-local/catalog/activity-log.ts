/**
 * mz_internal.mz_recent_activity_log for the statements mz-local executes itself (COPY ... TO, SELECT ... AS
 * OF, EXPLAIN TIMESTAMP): one row per execution with the cluster it ran on, when it began and finished, how
 * it finished and the rows it returned — the columns of Materialize's view (src/catalog/src/builtin.rs
 * MZ_RECENT_ACTIVITY_LOG; finished_status 'success' | 'error' | 'canceled' as in
 * src/adapter/src/statement_logging.rs). Ordinary SQL the engine answers is not logged.
 */
import { createHash, randomUUID } from 'node:crypto';
import { HUMAN_VERSION } from '../build-info';
import type { Engine } from '../engine/engine';
import type { Logger } from '../log';

export interface StatementSessionInfo {
  sessionId: string;
  connectedAt: Date;
  user: string;
  applicationName: string;
  database: string;
  cluster: string;
  clusterId: string | null;
  transactionIsolation: string;
}

export class ActivityLog {
  private readonly owner = { name: 'activity-log' };
  private transactionId = 0;
  /** Writes queue behind each other (and behind a session's open transaction), so the statement never waits. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly engine: Engine,
    private readonly log: Logger,
  ) {}

  /** Records the start of an execution; returns its execution id. */
  begin(s: StatementSessionInfo, sql: string, statementType: string): string {
    const id = randomUUID();
    const now = new Date().toISOString();
    this.write(
      `INSERT INTO mz_internal.mz_recent_activity_log (execution_id, sample_rate, cluster_id, application_name, cluster_name,
         database_name, search_path, transaction_isolation, params, mz_version, began_at, transaction_id, prepared_statement_id,
         sql_hash, prepared_statement_name, session_id, prepared_at, statement_type, throttled_count, connected_at,
         initial_application_name, authenticated_user, sql)
       VALUES ($1::uuid, 1.0, $2, $3, $4, $5, '{public}', $6, '{}', $7, $8::timestamptz, $9::numeric, $10::uuid, $11::bytea, '',
         $12::uuid, $8::timestamptz, $13, 0, $14::timestamptz, $3, $15, $16)`,
      [
        id,
        s.clusterId,
        s.applicationName,
        s.cluster,
        s.database,
        s.transactionIsolation,
        HUMAN_VERSION,
        now,
        String(++this.transactionId),
        randomUUID(),
        '\\x' + createHash('sha256').update(sql).digest('hex'),
        s.sessionId,
        statementType,
        s.connectedAt.toISOString(),
        s.user,
        sql,
      ],
    );
    return id;
  }

  finish(id: string, outcome: { status: 'success' | 'error' | 'canceled'; error?: string; rows?: number; executionTimestamp?: bigint | null }): void {
    this.write(
      `UPDATE mz_internal.mz_recent_activity_log SET finished_at = now(), finished_status = $2, error_message = $3,
         rows_returned = $4::int8, execution_strategy = $5, execution_timestamp = $6::numeric
       WHERE execution_id = $1::uuid`,
      [
        id,
        outcome.status,
        outcome.error ?? null,
        outcome.rows === undefined ? null : String(outcome.rows),
        outcome.status === 'success' ? 'standard' : null,
        outcome.executionTimestamp == null ? null : String(outcome.executionTimestamp),
      ],
    );
  }

  private write(sql: string, params: (string | null)[]): void {
    this.tail = this.tail.then(async () => {
      try {
        await this.engine.withEngine(this.owner, () => this.engine.query(sql, params));
      } catch (e) {
        this.log.warn(`statement log: ${(e as Error).message}`);
      }
    });
  }

  /** Waits for the queued writes (at shutdown). */
  flushed(): Promise<void> {
    return this.tail;
  }
}
