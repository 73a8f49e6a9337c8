/**
 * copyToS3: claims one attempt folder, runs one COPY ... TO 's3://...' into it over pg and returns the row count
 * from its `COPY n` tag.
 *
 * The attempt claim (`<logical time>/_claims/attempt-NNN.json`, created with If-None-Match: *) comes first, after
 * the Materialize session is up: when another run holds it the activity reports `attempt-taken` and runs nothing,
 * so two runs never COPY into one folder, and the claim later proves whose files the folder holds.
 *
 * It heartbeats while the statement runs (so a dead worker is noticed within the heartbeat timeout), and when
 * Temporal cancels it, it sends pg's cancel request for the statement's backend, waits briefly for the server
 * to confirm (SQLSTATE 57014) and reports the activity as cancelled. Errors are classified (activities/export/copy-errors.ts)
 * into failure types the workflow acts on; the activity itself never retries or picks another path.
 */
import * as net from 'node:net';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Client } from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import { classifyCopyError } from './copy-errors';
import { isConnectionUnavailable, isServerError } from '../pg-errors';
import type { CopyErrorContext, CopyToS3Input, CopyToS3Result, MaterializeCopyActivities, MaterializeFacts } from '../../common/export/activities';
import { applicationFailure, asApplicationFailure } from '../../common/failures';
import { attemptClaimKey, attemptKey as attemptKeyOf, s3Uri } from '../../common/export/paths';
import { buildCopySql, normalizeQuery, type CopyStatementSpec } from '../../common/export/sql';
import { quoteIdent, quoteLiteral, quoteQualifiedName } from '../../common/sql/quoting';
import { log } from '../../platform/log';
import { reportedParameter } from '../../platform/materialize';
import { s3Of, type ActivityDeps } from '../deps';
import { createOnce, sourceDigest } from './claims';
import type { AttemptClaim } from '../../common/export/manifest';
import { heartbeatIntervalMs } from '../heartbeat';

/** How long to wait for the server to end the statement after the cancel request. */
const CANCEL_CONFIRM_MS = 10_000;

export function createMaterializeCopyActivities(deps: ActivityDeps): MaterializeCopyActivities {
  const { materialize } = deps;
  return {
    async copyToS3(input: CopyToS3Input): Promise<CopyToS3Result> {
      const ctx = Context.current();
      const started = Date.now();
      const { target } = input;
      const key = attemptKeyOf(target, target.logicalTime, target.attempt);
      const targetUri = s3Uri(target.bucket, key);
      const context: CopyErrorContext = { ...input.context, targetUri, format: input.statement.format };
      // Heartbeats run from before the connection is made: a worker lost while connecting is noticed as soon as one
      // lost mid-statement. None at once (the server's heartbeat timeout runs from the start anyway, and each
      // recorded heartbeat is a billable action): a COPY shorter than the interval records none.
      const beat = () => ctx.heartbeat({ phase: 'copying', elapsedSeconds: Math.round((Date.now() - started) / 1000) });
      const timer = setInterval(beat, heartbeatIntervalMs(ctx.info.heartbeatTimeoutMs));
      const waitMs = (input.unavailableWaitSeconds ?? MATERIALIZE_UNAVAILABLE_WAIT_SECONDS) * 1000;
      const client = await connectRidingOutRestarts(() => materialize.connect(input.materializeProfile), ctx.cancellationSignal, waitMs).catch((e: unknown) => {
        clearInterval(timer);
        throw toFailure(e, context, false);
      });
      let facts: MaterializeFacts;
      let sql: string;
      try {
        // The cluster is checked before the claim: an unknown one is the user's to fix, and nothing is written.
        if (input.cluster !== undefined) await useCluster(client, input.cluster);
        const select = selectOf(input.statement);
        // The claim (an S3 write) and the session's facts (reads on the pg session) do not depend on each other:
        // one round trip of the two instead of both. Taken: the facts are simply not used.
        const [claimed, read] = await Promise.allSettled([claimAttempt(s3Of(deps, input.target.storageProfile), input, key), sessionFacts(client, select, input.asOf)]);
        if (claimed.status === 'rejected') throw claimed.reason;
        if (!claimed.value) return { outcome: 'attempt-taken' };
        if (read.status === 'rejected') throw read.reason;
        facts = read.value;
        // Read AS OF the timestamp just picked (or given), so the manifest names exactly what the files hold.
        sql = buildCopySql({ ...input.statement, object: undefined, query: `${select}\nAS OF ${facts.timestamp}`, targetUri });
      } catch (e) {
        clearInterval(timer);
        await client.end().catch(() => undefined);
        throw toFailure(e, context, false);
      }
      let cancelSent: Promise<void> | undefined;
      let closeTimer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        log('info', 'cancelling COPY', { target: targetUri, workflowId: ctx.info.workflowExecution?.workflowId });
        cancelSent = sendCancelRequest(client);
        // If the server does not end the statement (a refused cancel request, e.g. a TLS-only endpoint), close the
        // session: Materialize stops a COPY whose connection goes away, so a cancelled run never waits for the
        // whole COPY.
        closeTimer = setTimeout(() => {
          log('warn', 'the COPY did not stop after the cancel request; closing its session', { target: targetUri });
          (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
        }, CANCEL_CONFIRM_MS);
      };
      ctx.cancellationSignal.addEventListener('abort', onAbort);
      if (ctx.cancellationSignal.aborted) onAbort();
      const query = client.query(sql);
      let copied = false;
      try {
        const result = await query;
        copied = true;
        return {
          outcome: 'copied',
          rows: result.rowCount ?? 0,
          startedAt: new Date(started).toISOString(),
          finishedAt: new Date().toISOString(),
          materialize: facts,
        };
      } catch (e) {
        if (cancelSent) {
          await cancelSent;
          throw new CancelledFailure(`the COPY to ${targetUri} was cancelled (pg cancel request sent): ${(e as Error).message}`);
        }
        throw toFailure(e, context, true);
      } finally {
        clearInterval(timer);
        clearTimeout(closeTimer);
        ctx.cancellationSignal.removeEventListener('abort', onAbort);
        // A COPY that returned its tag is over: its result need not wait for the session's close (a round trip).
        // After an error or a cancel the close is awaited, so the activity ends only once the session is gone.
        const ended = endClient(client, cancelSent);
        if (!copied || cancelSent) await ended;
      }
    },
  };
}

/**
 * How long a COPY waits for Materialize to accept connections again (a restart or upgrade; its pg port refuses
 * meanwhile). Nothing has been claimed or written yet, so waiting here costs no attempt; past this bound the
 * failure goes to the workflow, which decides about another attempt. bulkExport passes its
 * tuning.materializeUnavailableWaitSeconds.
 */
const MATERIALIZE_UNAVAILABLE_WAIT_SECONDS = 120;

export async function connectRidingOutRestarts(connect: () => Promise<Client>, cancelled: AbortSignal, waitMs = MATERIALIZE_UNAVAILABLE_WAIT_SECONDS * 1000): Promise<Client> {
  const since = Date.now();
  for (let delay = 500; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await connect();
    } catch (e) {
      const err = e as { code?: string; message?: string; severity?: string };
      if (!isConnectionUnavailable(err) || cancelled.aborted || Date.now() - since + delay > waitMs) throw e;
      log('warn', 'Materialize refused the connection; waiting for it to come back', { error: err.message, retryInMs: delay });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** The source as a SELECT: an object becomes `SELECT * FROM <object>` (COPY of a name takes no AS OF). */
export function selectOf(statement: Pick<CopyToS3Input['statement'], 'object' | 'query'>): string {
  return statement.object !== undefined ? `SELECT * FROM ${quoteQualifiedName(statement.object)}` : normalizeQuery(statement.query!);
}

/** SET cluster, after checking the cluster exists (Materialize accepts an unknown one with a notice only). */
export async function useCluster(client: Client, cluster: string): Promise<void> {
  const found = await client.query(`SELECT name FROM mz_catalog.mz_clusters WHERE name = ${quoteLiteral(cluster)}`);
  if (!found.rowCount) {
    throw applicationFailure(
      'UserFixableError',
      `cluster ${JSON.stringify(cluster)} does not exist. To fix: name one of the clusters SHOW CLUSTERS lists, or leave cluster out to use the session's default`,
      { details: [{ started: false }] },
    );
  }
  await client.query(`SET cluster = ${quoteIdent(cluster)}`);
}

/**
 * Materialize's version, the session's cluster and the timestamp to read at: the given one, or the one
 * Materialize picks for this query now (EXPLAIN TIMESTAMP's "query timestamp", what a plain COPY would read at).
 */
export async function sessionFacts(client: Client, select: string, asOf: string | undefined): Promise<MaterializeFacts> {
  // Materialize reports both as ParameterStatus (after a SET cluster too); the queries are for a server that does not.
  const version = reportedParameter(client, 'mz_version') ?? String((await client.query('SELECT mz_version() AS v')).rows[0]?.v ?? '');
  const cluster = reportedParameter(client, 'cluster') ?? String(Object.values((await client.query('SHOW cluster')).rows[0] ?? {})[0] ?? '');
  if (asOf !== undefined) return { timestamp: asOf, version, cluster };
  const explained = await client.query(`EXPLAIN TIMESTAMP FOR ${select}`);
  const text = String(Object.values(explained.rows[0] ?? {})[0] ?? '');
  const m = /query timestamp:\s*(\d+)/.exec(text);
  if (!m) throw new Error(`EXPLAIN TIMESTAMP gave no query timestamp: ${text.slice(0, 200)}`);
  return { timestamp: m[1], version, cluster };
}

/**
 * Creates the attempt's claim; false when another run holds it. A missing bucket or a denial is the user's to fix
 * (UserFixableError); other S3 errors are reported as a lost COPY with `started: false`: nothing ran.
 */
async function claimAttempt(s3: S3Client, input: CopyToS3Input, key: string): Promise<boolean> {
  const { target } = input;
  const claim: AttemptClaim = {
    claim: 'attempt',
    exportName: target.exportName,
    logicalTime: target.logicalTime,
    attempt: target.attempt,
    source: sourceDigest(input.statement.object !== undefined ? { kind: 'object', object: input.statement.object } : { kind: 'query', query: input.statement.query! }),
    format: input.statement.format,
    ...input.owner,
    claimedAt: new Date().toISOString(),
  };
  const claimKey = attemptClaimKey(key.slice(0, key.lastIndexOf('/')), target.attempt);
  try {
    return (await createOnce(s3, target.bucket, claimKey, claim)) !== undefined;
  } catch (e) {
    // A missing bucket or a denial already says what to change (s3-errors.ts): the user's to fix.
    if (e instanceof ApplicationFailure) throw e;
    const err = e as Error;
    throw applicationFailure('CopyTransientError', `could not claim s3://${target.bucket}/${claimKey}: ${err.name}: ${err.message}`, {
      details: [{ started: false }],
    });
  }
}

/** Ends the client; after a cancel, gives the server a moment to end the statement first. */
async function endClient(client: Client, cancelSent: Promise<void> | undefined): Promise<void> {
  const end = client.end().catch(() => undefined);
  if (!cancelSent) return end;
  await Promise.race([end, new Promise((r) => setTimeout(r, CANCEL_CONFIRM_MS))]);
}

/**
 * pg's CancelRequest: a fresh connection carrying the statement's backend process id and secret key (what
 * psql sends on Ctrl-C). Best effort: a failure here leaves the statement running until the connection closes.
 */
export function sendCancelRequest(client: Client): Promise<void> {
  const { processID, secretKey } = client as unknown as { processID: number | null; secretKey: number | null };
  if (processID === null || secretKey === null) return Promise.resolve();
  const message = Buffer.alloc(16);
  message.writeInt32BE(16, 0);
  message.writeInt32BE(80877102, 4); // the CancelRequest code
  message.writeInt32BE(processID, 8);
  message.writeInt32BE(secretKey, 12);
  return new Promise((resolve) => {
    const socket = client.host.startsWith('/')
      ? net.connect({ path: `${client.host}/.s.PGSQL.${client.port}` })
      : net.connect({ host: client.host, port: client.port });
    socket.setTimeout(5000, () => socket.destroy());
    socket.once('connect', () => socket.end(message));
    socket.once('close', () => resolve());
    socket.once('error', (e) => {
      log('warn', 'could not send the pg cancel request', { error: e.message });
      resolve();
    });
  });
}

/** An ApplicationFailure whose type tells the workflow what to do next (a catalog type, non-retryable: only the workflow decides about another attempt, in a fresh folder; the same folder is never retried). */
export function toFailure(e: unknown, context: CopyErrorContext, started: boolean): Error {
  const thrown = asApplicationFailure(e); // InvalidInputError from building the statement
  if (thrown instanceof ApplicationFailure) return thrown;
  const err = e as Error & { code?: string; detail?: string; hint?: string };
  // The server's errors carry a SQLSTATE in `code`; Node socket errors carry their name there (ECONNRESET).
  const sqlState = isServerError(err) ? err.code : undefined;
  const classified = classifyCopyError(
    { code: sqlState, errno: sqlState === undefined ? err.code : undefined, message: err.message ?? String(e), detail: err.detail, hint: err.hint },
    context,
  );
  // started: false means the statement never reached the server, so nothing can still be running.
  return applicationFailure(classified.type, classified.message, { details: [{ sqlstate: sqlState, started }] });
}
