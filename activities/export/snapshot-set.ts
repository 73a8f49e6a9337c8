/**
 * The snapshot set's own side effects; the members are ordinary staged bulkExports (workflows/snapshot-set-run.ts).
 *
 * - chooseSnapshotTimestamp: `EXPLAIN TIMESTAMP FOR SELECT 1 FROM (<member 1>) AS m1, (<member 2>) AS m2, ...`:
 *   Materialize picks one timestamp valid for every member's inputs together, which each member then reads AS OF.
 * - findSnapshotSetPublication: a re-run of a published logical time returns it (or a conflict).
 * - commitSnapshotSet: the bulkExport publication protocol one level up (docs/manifest.md): check each member's
 *   manifest is the staged one (ETag) at the set's timestamp, claim a set attempt folder, write set-manifest.json,
 *   create the publication claim (If-None-Match: *, first writer wins), `_SUCCESS`, then `_latest.json`.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ChooseTimestampInput, FindSetPublicationInput, CommitSetInput, CommitSetResult, MaterializeFacts, SetMemberSpec, SetPublicationSummary, SnapshotSetActivities } from '../../common/export/activities';
import type { ExportManifest } from '../../common/export/manifest';
import { applicationFailure } from '../../common/failures';
import { attemptClaimKey, attemptFolder, MAX_ATTEMPT_NUMBER, publicationClaimKey, s3Uri, SUCCESS_FILE } from '../../common/export/paths';
import { SET_MANIFEST_FILE, type SetManifest } from '../../common/export/snapshot-set';
import { s3Of, type ActivityDeps } from '../deps';
import { heartbeating } from '../heartbeat';
import { createOnce, readJson } from './claims';
import { connectRidingOutRestarts, selectOf, sessionFacts, toFailure, useCluster } from './materialize-copy';
import { PRODUCER } from './manifest';
import { advanceLatest, unquote } from './s3-export';

interface SetAttemptClaim {
  claim: 'attempt';
  setName: string;
  logicalTime: string;
  attempt: number;
  setTry: number;
  workflowId: string;
  runId: string;
  claimedAt: string;
}

interface SetPublicationClaim {
  claim: 'publication';
  kind: 'snapshot-set';
  setName: string;
  logicalTime: string;
  attempt: number;
  manifestKey: string;
  manifestEtag: string;
  /** SHA-256 of the members (names, sources, formats): a re-run asking for other members conflicts. */
  membersSha256: string;
  materialize: MaterializeFacts;
  workflowId: string;
  runId: string;
  claimedAt: string;
}

export function createSnapshotSetActivities(deps: ActivityDeps): SnapshotSetActivities {
  const { materialize } = deps;
  return heartbeating({
    async chooseSnapshotTimestamp(input: ChooseTimestampInput): Promise<MaterializeFacts> {
      const ctx = Context.current();
      const context = { source: 'the snapshot set members', connectionName: '(none)', targetUri: '(nothing written yet)', format: '' };
      const client = await connectRidingOutRestarts(() => materialize.connect(input.materializeProfile), ctx.cancellationSignal).catch((e: unknown) => {
        throw toFailure(e, context, false);
      });
      try {
        if (input.cluster !== undefined) await useCluster(client, input.cluster);
        const selects = input.sources.map((source, i) => `(${selectOf(source.kind === 'object' ? { object: source.object } : { query: source.query })}) AS m${i + 1}`);
        return await sessionFacts(client, `SELECT 1 FROM ${selects.join(', ')}`, undefined);
      } catch (e) {
        throw e instanceof ApplicationFailure ? e : toFailure(e, context, false);
      } finally {
        await client.end().catch(() => undefined);
      }
    },

    async findSnapshotSetPublication(input: FindSetPublicationInput): Promise<{ published?: SetPublicationSummary }> {
      // The set's store (an unknown storage profile fails here, before anything is written).
      const s3 = s3Of(deps, input.storageProfile);
      const claim = (await readJson<SetPublicationClaim>(s3, input.bucket, publicationClaimKey(input.logicalTimeKey)))?.value;
      if (!claim) return {};
      const read = await readJson<SetManifest>(s3, input.bucket, claim.manifestKey);
      if (!read?.value || unquote(read.etag) !== claim.manifestEtag) {
        throw applicationFailure(
          'ConflictError',
          `the publication claim ${s3Uri(input.bucket, publicationClaimKey(input.logicalTimeKey))} names ${claim.manifestKey}, which is missing or was rewritten; nothing was published. Look at that folder, then delete the claim to let a new run publish`,
        );
      }
      // Its writer may have died between the claim and _SUCCESS: the claim decided, so finish it.
      await s3.send(new PutObjectCommand({ Bucket: input.bucket, Key: successKeyOf(claim.manifestKey), Body: '' }));
      return { published: summaryOf(input.bucket, claim, read.value, input.members) };
    },

    async commitSnapshotSet(input: CommitSetInput): Promise<CommitSetResult> {
      const { bucket, logicalTimeKey } = input;
      const s3 = s3Of(deps, input.storageProfile);
      await checkStagedMembers(s3, input);
      const attempt = await claimSetAttempt(s3, input);
      const manifestKey = `${logicalTimeKey}/${attemptFolder(attempt)}/${SET_MANIFEST_FILE}`;
      const publishedAt = new Date().toISOString();
      const manifest: SetManifest = {
        manifestVersion: 1,
        kind: 'snapshot-set',
        setName: input.setName,
        logicalTime: input.logicalTime,
        attempt,
        materialize: input.materialize,
        members: input.members.map((m) => ({
          name: m.name,
          source: m.source,
          format: m.format,
          manifest: s3Uri(bucket, m.manifestKey),
          manifestKey: m.manifestKey,
          manifestEtag: m.manifestEtag,
          manifestSha256: m.manifestSha256,
          totals: { files: m.files, rows: m.rows, bytes: m.bytes },
        })),
        totals: {
          members: input.members.length,
          files: sum(input.members, 'files'),
          rows: sum(input.members, 'rows'),
          bytes: sum(input.members, 'bytes'),
        },
        workflow: input.workflow,
        publishedAt,
        producer: PRODUCER,
      };
      const claimKey = publicationClaimKey(logicalTimeKey);
      // A retry of this activity may find its own claim: the manifest it names must not be rewritten.
      let holder = (await readJson<SetPublicationClaim>(s3, bucket, claimKey))?.value;
      if (!holder) {
        const put = await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: manifestKey, Body: JSON.stringify(manifest, null, 2) + '\n', ContentType: 'application/json' }),
        );
        const claim: SetPublicationClaim = {
          claim: 'publication',
          kind: 'snapshot-set',
          setName: input.setName,
          logicalTime: input.logicalTime,
          attempt,
          manifestKey,
          manifestEtag: unquote(put.ETag ?? ''),
          membersSha256: membersDigest(input.members),
          materialize: input.materialize,
          workflowId: input.workflow.workflowId,
          runId: input.workflow.runId,
          claimedAt: publishedAt,
        };
        // The commit point: the first set manifest to be claimed is the one published.
        if ((await createOnce(s3, bucket, claimKey, claim)) === undefined) {
          holder = (await readJson<SetPublicationClaim>(s3, bucket, claimKey))?.value;
          if (!holder) throw new Error(`${claimKey} exists but cannot be read as a publication claim; retrying`);
        }
      }
      if (holder && holder.attempt !== attempt) {
        // Lost: this attempt's set manifest is never referenced; remove it and its claim.
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: manifestKey }));
        await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: attemptClaimKey(logicalTimeKey, attempt) }));
        const winner = (await readJson<SetManifest>(s3, bucket, holder.manifestKey))?.value;
        if (!winner) throw new Error(`${holder.manifestKey} (named by ${claimKey}) cannot be read; retrying`);
        return { outcome: 'lost', winner: summaryOf(bucket, holder, winner, input.members) };
      }
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: successKeyOf(manifestKey), Body: '' }));
      const latestUpdated = input.latestKey
        ? await advanceLatest(s3, bucket, input.latestKey, {
            exportName: input.setName,
            logicalTime: input.logicalTime,
            attempt,
            manifest: s3Uri(bucket, manifestKey),
            manifestKey,
            rows: manifest.totals.rows,
            files: manifest.totals.files,
            bytes: manifest.totals.bytes,
            publishedAt,
            workflowId: input.workflow.workflowId,
            runId: input.workflow.runId,
            materializeTimestamp: input.materialize.timestamp,
          })
        : false;
      return { outcome: 'published', attempt, manifest: s3Uri(bucket, manifestKey), manifestKey, latestUpdated };
    },
  });

  /** Every member's manifest is still the one its run staged (ETag) and was read AS OF the set's timestamp. */
  async function checkStagedMembers(s3: S3Client, input: CommitSetInput): Promise<void> {
    const problems: string[] = [];
    await Promise.all(
      input.members.map(async (m) => {
        const read = await readJson<ExportManifest>(s3, input.bucket, m.manifestKey);
        if (!read?.value) return problems.push(`member ${m.name}: ${m.manifestKey} is missing`);
        if (unquote(read.etag) !== m.manifestEtag) return problems.push(`member ${m.name}: ${m.manifestKey} changed after it was staged`);
        const ts = read.value.materialize?.timestamp;
        if (ts !== input.materialize.timestamp) problems.push(`member ${m.name} reflects timestamp ${ts}, the set ${input.materialize.timestamp}`);
      }),
    );
    if (problems.length) {
      throw applicationFailure('ExportVerificationError', `the snapshot set was not published: ${problems.join('; ')}`);
    }
  }

  /** The first free set attempt folder (its claim created with If-None-Match: *), or the one this try claimed before. */
  async function claimSetAttempt(s3: S3Client, input: CommitSetInput): Promise<number> {
    const { bucket, logicalTimeKey, workflow } = input;
    for (let attempt = 1; attempt <= MAX_ATTEMPT_NUMBER; attempt++) {
      const key = attemptClaimKey(logicalTimeKey, attempt);
      const claim: SetAttemptClaim = {
        claim: 'attempt',
        setName: input.setName,
        logicalTime: input.logicalTime,
        attempt,
        setTry: input.setTry,
        workflowId: workflow.workflowId,
        runId: workflow.runId,
        claimedAt: new Date().toISOString(),
      };
      if ((await createOnce(s3, bucket, key, claim)) !== undefined) return attempt;
      const holder = (await readJson<SetAttemptClaim>(s3, bucket, key))?.value;
      if (holder?.runId === workflow.runId && holder.setTry === input.setTry) return attempt;
    }
    throw applicationFailure('UserFixableError', `${logicalTimeKey} has used all ${MAX_ATTEMPT_NUMBER} set attempt folders; delete old ones or use another logical time`);
  }
}

function successKeyOf(manifestKey: string): string {
  return `${manifestKey.slice(0, manifestKey.lastIndexOf('/'))}/${SUCCESS_FILE}`;
}

function sum<K extends string>(items: Record<K, number>[], key: K): number {
  return items.reduce((s, m) => s + m[key], 0);
}

/** Names, sources and formats, in the members' order (the order names the set manifest's entries). */
export function membersDigest(members: SetMemberSpec[]): string {
  const canonical = members.map((m) => [m.name, m.source.kind, m.source.kind === 'object' ? m.source.object : m.source.query, m.format]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

function summaryOf(bucket: string, claim: SetPublicationClaim, manifest: SetManifest, requested: SetMemberSpec[]): SetPublicationSummary {
  const conflict =
    claim.membersSha256 !== membersDigest(requested)
      ? `it has the members ${manifest.members.map((m) => `${m.name} (${m.format})`).join(', ')}; this run asks for ${requested.map((m) => `${m.name} (${m.format})`).join(', ')}, or the same names with other objects, queries or order`
      : undefined;
  return {
    attempt: claim.attempt,
    manifest: s3Uri(bucket, claim.manifestKey),
    manifestKey: claim.manifestKey,
    materialize: claim.materialize,
    members: manifest.members.map((m) => ({ name: m.name, manifest: m.manifest, ...m.totals })),
    ...(conflict ? { conflict } : {}),
  };
}
