/**
 * The IAM permissions the worker's own AWS identity needs for exports (bulkExport and schedules), as a policy
 * document: exactly the S3 calls activities/export/{claims,s3-export,materialize-copy}.ts make, on the export
 * prefix only. Materialize writes the data files with its own role; the worker lists them, reads Parquet
 * footers, claims and manifests, writes manifest.json, _SUCCESS, _latest.json and claim objects (conditional
 * writes need no extra permission), and deletes the files of abandoned attempts.
 *
 * One generator for docs/operations.md, `mz-s3-export iam-policy worker --role export` and the test that runs the
 * export activities with a worker holding only this policy (test/reliability/worker-iam-permissions.test.ts).
 * Features that need more (event publication, retention) add their statements here, scoped as narrowly. Pure.
 */
import { POLICY_VERSION, type PolicyDocument, type PolicyStatement } from '../iam-policies';
import type { PublicationNotifications } from '../events/types';

export interface ExportPolicyScope {
  partition?: string;
  /** The export bucket; placeholder `<BUCKET>` when not given. */
  bucket?: string;
  /** The export prefix (no trailing slash); placeholder `<PREFIX>` when not given. */
  prefix?: string;
  /** Add `s3:ListAllMyBuckets` for `mz-s3-export doctor` (default true). */
  doctor?: boolean;
  /** The exports' `notify` targets: one statement each, on that topic, queue or bus only (docs/events.md). */
  notify?: PublicationNotifications;
  /** For an event bus given by name (and a queue URL that names no region): placeholders `<REGION>`, `<ACCOUNT_ID>`. */
  region?: string;
  accountId?: string;
}

export const WORKER_EXPORT_ACTIONS = {
  /** Completion polling, verification, attempt inspection and cleanup list the attempt folders. */
  list: ['s3:ListBucket'],
  /** Claims, manifests and _latest.json are read and written; abandoned attempts' files deleted. */
  objects: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
  /** `doctor` only: exports work without it. */
  doctor: ['s3:ListAllMyBuckets'],
  /** Publication events, each on the one named resource (a downstream Temporal workflow needs no AWS permission). */
  sns: ['sns:Publish'],
  sqs: ['sqs:SendMessage'],
  eventBridge: ['events:PutEvents'],
} as const;

export function workerExportPolicy(scope: ExportPolicyScope = {}): PolicyDocument {
  const partition = scope.partition ?? 'aws';
  const bucketArn = `arn:${partition}:s3:::${scope.bucket ?? '<BUCKET>'}`;
  const prefix = (scope.prefix ?? '<PREFIX>').replace(/\/+$/, '');
  const a = WORKER_EXPORT_ACTIONS;
  const statements: PolicyStatement[] = [
    {
      Sid: 'ListExportPrefix',
      Effect: 'Allow',
      Action: [...a.list],
      Resource: bucketArn,
      Condition: { StringLike: { 's3:prefix': [`${prefix}/*`] } },
    },
    { Sid: 'ReadWriteExportObjects', Effect: 'Allow', Action: [...a.objects], Resource: `${bucketArn}/${prefix}/*` },
  ];
  if (scope.doctor ?? true) statements.push({ Sid: 'Doctor', Effect: 'Allow', Action: [...a.doctor], Resource: '*' });
  statements.push(...publicationEventStatements(scope, partition));
  return { Version: POLICY_VERSION, Statement: statements };
}

/**
 * sns:Publish on the topic, sqs:SendMessage on the queue (its ARN from the queue URL: sqs.<region>.amazonaws.com/
 * <account>/<name>), events:PutEvents on the bus: exactly as far as the exports' `notify` reaches.
 */
export function publicationEventStatements(scope: ExportPolicyScope, partition = scope.partition ?? 'aws'): PolicyStatement[] {
  const n = scope.notify ?? {};
  const region = scope.region ?? '<REGION>';
  const account = scope.accountId ?? '<ACCOUNT_ID>';
  const a = WORKER_EXPORT_ACTIONS;
  const out: PolicyStatement[] = [];
  if (n.sns) out.push({ Sid: 'PublishExportEventsSns', Effect: 'Allow', Action: [...a.sns], Resource: n.sns.topicArn });
  if (n.sqs) {
    const m = /^https?:\/\/([^/]+)\/(\d{12})\/([^/]+)$/.exec(n.sqs.queueUrl);
    const queueRegion = /^sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(m?.[1] ?? '')?.[1] ?? region;
    out.push({ Sid: 'PublishExportEventsSqs', Effect: 'Allow', Action: [...a.sqs], Resource: `arn:${partition}:sqs:${queueRegion}:${m?.[2] ?? account}:${m?.[3] ?? '<QUEUE>'}` });
  }
  if (n.eventBridge) {
    const bus = n.eventBridge.eventBusName;
    const arn = bus.startsWith('arn:') ? bus : `arn:${partition}:events:${region}:${account}:event-bus/${bus}`;
    out.push({ Sid: 'PublishExportEventsEventBridge', Effect: 'Allow', Action: [...a.eventBridge], Resource: arn });
  }
  return out;
}
