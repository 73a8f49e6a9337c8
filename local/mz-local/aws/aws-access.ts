/**
 * AWS access the way Materialize has it: assume the connection's role from mz-local's principal (with the
 * connection's external ID), then call S3 with the role's temporary credentials.
 *
 * moto does not enforce IAM, so mz-local enforces what AWS would before each call, from the real IAM
 * documents it reads from moto: the role's trust policy for sts:AssumeRole (principal, action,
 * sts:ExternalId conditions, propagation delay after changes) and the role's identity policies for each
 * S3 action. Denials carry AWS's own error codes, HTTP statuses and messages.
 */
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Logger } from '../log';
import { IamDirectory, parseRoleArn, type NamedPolicy } from './iam-directory';
import { evaluatePolicies, type PolicyDocument } from './policy-evaluator';
import { TrustPropagation } from './trust-propagation';

/** An error as AWS reports it: code (e.g. AccessDenied), HTTP status and message. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

export interface AssumedRole {
  roleArn: string;
  roleName: string;
  account: string;
  /** arn:aws:sts::<account>:assumed-role/<role>/<session> */
  sessionArn: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  region: string;
  endpoint: string | undefined;
  /** An IAM user's static credentials rather than an assumed role. */
  kind?: 'role' | 'user';
}

export interface AssumeRequest {
  roleArn: string;
  sessionName: string;
  /** null asks without an external ID (VALIDATE's check that the role requires one). */
  externalId: string | null;
  region?: string | null;
  endpoint?: string | null;
}

export interface AwsAccessOptions {
  /** The AWS endpoint (moto); undefined uses AWS's own endpoints. */
  endpoint?: string;
  region: string;
  /** The IAM role mz-local assumes from (Materialize's MaterializeConnection role). */
  principal: string;
  propagationDelaySeconds: () => number;
  log: Logger;
}

export class AwsAccess {
  readonly iam: IamDirectory;
  readonly trust: TrustPropagation;
  private readonly sts: STSClient;

  constructor(private readonly opts: AwsAccessOptions) {
    const base = { region: opts.region, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}) };
    this.iam = new IamDirectory(new IAMClient(base));
    this.sts = new STSClient(base);
    this.trust = new TrustPropagation(this.iam, opts.propagationDelaySeconds, opts.log);
  }

  get principal(): string {
    return this.opts.principal;
  }

  /** Creates the principal role in the emulator if it is missing, so trust policies naming it are sane. */
  async ensurePrincipalRole(): Promise<void> {
    const parsed = parseRoleArn(this.opts.principal);
    if (!parsed) throw new Error(`--principal ${this.opts.principal} is not an IAM role ARN`);
    if (await this.iam.getRole(parsed.name)) return;
    const trust: PolicyDocument = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${parsed.account}:root` }, Action: 'sts:AssumeRole' }],
    };
    await this.iam.iam.send(
      new CreateRoleCommand({ RoleName: parsed.name, Path: parsed.path, AssumeRolePolicyDocument: JSON.stringify(trust), Description: 'mz-local principal (Materialize jump role)' }),
    );
    this.opts.log.info(`created principal role ${this.opts.principal} in the AWS emulator`);
  }

  private notAuthorized(roleArn: string): AwsError {
    return new AwsError('AccessDenied', 403, `User: ${this.opts.principal} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`);
  }

  /** Enforces the role's trust policy, then assumes it (STS AssumeRole on the emulator). */
  async assumeRole(req: AssumeRequest): Promise<AssumedRole> {
    const parsed = parseRoleArn(req.roleArn);
    if (!parsed) {
      const constraint =
        req.roleArn.length < 20 ? 'Member must have length greater than or equal to 20' : 'Member must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)';
      throw new AwsError('ValidationError', 400, `1 validation error detected: Value '${req.roleArn}' at 'roleArn' failed to satisfy constraint: ${constraint}`);
    }
    const role = await this.iam.getRole(parsed.name);
    if (!role || role.arn !== req.roleArn) {
      this.opts.log.info(`AssumeRole ${req.roleArn}: role does not exist; denied`);
      throw this.notAuthorized(req.roleArn);
    }
    this.trust.watch(req.roleArn);
    this.trust.observe(req.roleArn, role.trustPolicyText, role.createDate);
    const wait = this.trust.remainingSeconds(req.roleArn);
    if (wait > 0) {
      this.opts.log.info(`AssumeRole ${req.roleArn}: trust policy still propagating (${wait.toFixed(1)}s left); denied`);
      throw this.notAuthorized(req.roleArn);
    }
    const principalAccount = parseRoleArn(this.opts.principal)?.account ?? '';
    const result = evaluatePolicies([{ name: 'trust-policy', document: role.trustPolicy }], {
      action: 'sts:AssumeRole',
      principal: { arn: this.opts.principal, account: principalAccount },
      keys: {
        'sts:ExternalId': req.externalId ?? undefined,
        'sts:RoleSessionName': req.sessionName,
        'aws:PrincipalArn': this.opts.principal,
        'aws:PrincipalAccount': principalAccount,
        'aws:SecureTransport': 'true',
      },
    });
    for (const note of result.notes) this.opts.log.warn(`trust policy of ${req.roleArn}: ${note}`);
    if (result.decision !== 'allow') {
      this.opts.log.info(
        `AssumeRole ${req.roleArn} ${req.externalId === null ? 'without' : 'with'} external ID: ${result.decision}${result.matched.length ? ` (${result.matched.join(', ')})` : ''}`,
      );
      throw this.notAuthorized(req.roleArn);
    }
    const res = await this.sts.send(
      new AssumeRoleCommand({ RoleArn: req.roleArn, RoleSessionName: req.sessionName, ...(req.externalId ? { ExternalId: req.externalId } : {}) }),
    );
    const c = res.Credentials!;
    return {
      roleArn: req.roleArn,
      roleName: parsed.name,
      account: parsed.account,
      sessionArn: res.AssumedRoleUser?.Arn ?? `arn:aws:sts::${parsed.account}:assumed-role/${parsed.name}/${req.sessionName}`,
      credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken },
      region: req.region ?? this.opts.region,
      endpoint: req.endpoint ?? this.opts.endpoint,
    };
  }

  /**
   * The identity of static credentials (an AWS connection with ACCESS KEY ID / SECRET ACCESS KEY): the IAM
   * user the access key belongs to in the emulator, whose identity policies then govern its S3 calls. A key
   * IAM does not know is refused as AWS refuses it (`code` is STS's or S3's error code for that).
   */
  async staticCredentials(
    creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
    target: { region?: string | null; endpoint?: string | null },
    unknownKey: 'sts' | 's3',
  ): Promise<AssumedRole> {
    const user = await this.iam.userOfAccessKey(creds.accessKeyId);
    if (!user) {
      this.opts.log.info(`access key ${creds.accessKeyId.slice(0, 4)}…: unknown to IAM; refused`);
      throw unknownKey === 'sts'
        ? new AwsError('InvalidClientTokenId', 403, 'The security token included in the request is invalid.')
        : new AwsError('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.');
    }
    const account = /^arn:aws[a-z-]*:iam::(\d{12}):/.exec(user.arn)?.[1] ?? '';
    return {
      roleArn: user.arn,
      roleName: user.name,
      account,
      sessionArn: user.arn,
      credentials: creds,
      region: target.region ?? this.opts.region,
      endpoint: target.endpoint ?? this.opts.endpoint,
      kind: 'user',
    };
  }

  /** STS GetCallerIdentity with the assumed role's credentials (what VALIDATE CONNECTION calls). */
  async getCallerIdentity(role: AssumedRole): Promise<string> {
    const sts = new STSClient({ region: role.region, credentials: role.credentials, ...(role.endpoint ? { endpoint: role.endpoint } : {}) });
    try {
      return (await sts.send(new GetCallerIdentityCommand({}))).Arn ?? role.sessionArn;
    } finally {
      sts.destroy();
    }
  }

  /** An S3 client for the assumed role that enforces the role's identity policies. */
  async s3For(role: AssumedRole): Promise<AuthorizedS3> {
    const isUser = role.kind === 'user';
    const policies = isUser ? await this.iam.getUserPolicies(role.roleName) : await this.iam.getRolePolicies(role.roleName);
    const info = isUser ? null : await this.iam.getRole(role.roleName);
    let boundary: NamedPolicy | null = null;
    if (info?.permissionsBoundaryArn) {
      boundary = { name: `boundary:${info.permissionsBoundaryArn}`, document: await this.iam.getManagedPolicy(info.permissionsBoundaryArn) };
    }
    const client = new S3Client({
      region: role.region,
      credentials: role.credentials,
      forcePathStyle: true,
      ...(role.endpoint ? { endpoint: role.endpoint } : {}),
    });
    return new AuthorizedS3(client, role, policies, boundary, this.opts.log);
  }

  close(): void {
    this.trust.stop();
    this.sts.destroy();
    this.iam.iam.destroy();
  }
}

/** S3 calls made on behalf of an assumed role, each checked against the role's policies first. */
export class AuthorizedS3 {
  constructor(
    readonly client: S3Client,
    readonly role: AssumedRole,
    private readonly policies: NamedPolicy[],
    private readonly boundary: NamedPolicy | null,
    private readonly log: Logger,
  ) {}

  /** Throws AWS's AccessDenied (HTTP 403) unless the role may perform `action` on `resource`. */
  authorize(action: string, resource: string, keys: Record<string, string | undefined> = {}): void {
    const req = { action, resource, keys: { 'aws:SecureTransport': 'true', 'aws:PrincipalArn': this.role.roleArn, ...keys } };
    const result = evaluatePolicies(this.policies, req);
    for (const note of result.notes) this.log.warn(`policy of ${this.role.roleArn}: ${note}`);
    let denied: 'explicit' | 'implicit' | null = result.decision === 'allow' ? null : result.decision === 'explicit-deny' ? 'explicit' : 'implicit';
    let where = 'identity-based policy';
    if (!denied && this.boundary) {
      const b = evaluatePolicies([this.boundary], req);
      for (const note of b.notes) this.log.warn(`permissions boundary of ${this.role.roleArn}: ${note}`);
      if (b.decision !== 'allow') {
        denied = b.decision === 'explicit-deny' ? 'explicit' : 'implicit';
        where = 'permissions boundary';
      }
    }
    if (!denied) return;
    const reason = denied === 'explicit' ? `with an explicit deny in a ${where}` : `because no ${where} allows the ${action} action`;
    this.log.info(`${this.role.sessionArn}: ${action} on ${resource} denied (${reason})`);
    throw new AwsError('AccessDenied', 403, `User: ${this.role.sessionArn} is not authorized to perform: ${action} on resource: "${resource}" ${reason}`);
  }

  /** One ListObjectsV2 page under `prefix` (Materialize lists once), requiring s3:ListBucket. */
  async listObjects(bucket: string, prefix: string, signal?: AbortSignal): Promise<string[]> {
    this.authorize('s3:ListBucket', `arn:aws:s3:::${bucket}`, { 's3:prefix': prefix });
    const res = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }), { abortSignal: signal });
    return (res.Contents ?? []).map((o) => o.Key!);
  }

  async deleteObject(bucket: string, key: string, signal?: AbortSignal): Promise<void> {
    this.authorize('s3:DeleteObject', `arn:aws:s3:::${bucket}/${key}`);
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
  }

  async putObject(bucket: string, key: string, body: Uint8Array, signal?: AbortSignal): Promise<void> {
    this.authorize('s3:PutObject', `arn:aws:s3:::${bucket}/${key}`);
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }), { abortSignal: signal });
  }

  async createMultipartUpload(bucket: string, key: string, signal?: AbortSignal): Promise<string> {
    this.authorize('s3:PutObject', `arn:aws:s3:::${bucket}/${key}`);
    const res = await this.client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    return res.UploadId!;
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Uint8Array, signal?: AbortSignal): Promise<string> {
    this.authorize('s3:PutObject', `arn:aws:s3:::${bucket}/${key}`);
    const res = await this.client.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }),
      { abortSignal: signal },
    );
    return res.ETag!;
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: { ETag: string; PartNumber: number }[],
    signal?: AbortSignal,
  ): Promise<void> {
    this.authorize('s3:PutObject', `arn:aws:s3:::${bucket}/${key}`);
    await this.client.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
      { abortSignal: signal },
    );
  }

  close(): void {
    this.client.destroy();
  }
}

/** The HTTP status of an AWS SDK error (or AwsError), if any. */
export function httpStatusOf(e: unknown): number | undefined {
  if (e instanceof AwsError) return e.status;
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** AWS's own rendering of an error: "<Code>: <message>". */
export function describeAwsError(e: unknown): string {
  if (e instanceof AwsError) return `${e.code}: ${e.message}`;
  const err = e as { name?: string; message?: string; Code?: string };
  const code = err?.Code ?? err?.name;
  const msg = err?.message ?? String(e);
  return code && code !== 'Error' && !msg.startsWith(code) ? `${code}: ${msg}` : msg;
}
