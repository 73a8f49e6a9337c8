/**
 * Test helpers for mz-local: a private moto server and mz-local on free ports, pg clients, and AWS setup
 * (bucket, role, trust policy, least-privilege S3 policy) the way the onboarding flow creates them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateUserCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as arrow from 'apache-arrow';
import { parquetMetadata, parquetReadObjects, type FileMetaData } from 'hyparquet';
import * as pw from 'parquet-wasm';
import { Client } from 'pg';
import { startMzLocal, type MzLocalOptions, type MzLocalServer } from '../../local/mz-local/server';

const ROOT = path.resolve(__dirname, '..', '..');
export const PRINCIPAL = 'arn:aws:iam::123456789012:role/MaterializeConnection';

// moto accepts any credentials; the SDK needs some
process.env.AWS_ACCESS_KEY_ID ??= 'testing';
process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface Moto {
  endpoint: string;
  stop(): Promise<void>;
}

/** Starts a private moto server (its own process, stopped by pid). */
export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const proc: ChildProcess = spawn(path.join(ROOT, '.venv', 'bin', 'moto_server'), ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`moto exited: ${stderr}`);
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`moto did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

export async function startServer(moto: Moto, opts: MzLocalOptions = {}): Promise<MzLocalServer> {
  return startMzLocal({ port: 0, awsEndpoint: moto.endpoint, quiet: !process.env.MZ_LOCAL_TEST_LOG, ...opts });
}

export async function connect(server: MzLocalServer, extra: Record<string, unknown> = {}): Promise<Client> {
  const c = new Client({ host: server.host, port: server.port, user: 'materialize', database: 'materialize', ...extra });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

export function awsClients(moto: Moto) {
  const cfg = { endpoint: moto.endpoint, region: 'us-east-1' };
  return { iam: new IAMClient(cfg), s3: new S3Client({ ...cfg, forcePathStyle: true }) };
}

let counter = 0;
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
}

export function trustPolicy(externalId: string | null, principal = PRINCIPAL): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: principal },
        Action: 'sts:AssumeRole',
        ...(externalId !== null ? { Condition: { StringEquals: { 'sts:ExternalId': externalId } } } : {}),
      },
    ],
  });
}

/** The least-privilege policy the onboarding flow creates (design.md). */
export function s3Policy(bucket: string, prefix: string, actions = ['s3:PutObject', 's3:DeleteObject']): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: actions, Resource: `arn:aws:s3:::${bucket}/${prefix}/*` },
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${bucket}`, Condition: { StringLike: { 's3:prefix': `${prefix}/*` } } },
    ],
  });
}

export interface ExportSetup {
  bucket: string;
  prefix: string;
  roleArn: string;
  roleName: string;
  connection: string;
  externalId: string;
}

/**
 * The whole onboarding path: bucket, policy, role (placeholder trust), CREATE CONNECTION, trust policy with
 * the real external ID. Returns what tests need.
 */
export async function setupExport(
  moto: Moto,
  client: Client,
  opts: { actions?: string[]; inlinePolicy?: boolean; bucket?: string; connection?: string } = {},
): Promise<ExportSetup> {
  const { iam, s3 } = awsClients(moto);
  const bucket = opts.bucket ?? uniqueName('bucket');
  const prefix = 'exports';
  const roleName = uniqueName('role');
  const connection = opts.connection ?? uniqueName('conn').replace(/-/g, '_');
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    if ((e as { name?: string }).name !== 'BucketAlreadyOwnedByYou') throw e;
  }
  const role = await iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: trustPolicy('PENDING') }));
  const roleArn = role.Role!.Arn!;
  if (opts.inlinePolicy) {
    await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: 'export', PolicyDocument: s3Policy(bucket, prefix, opts.actions) }));
  } else {
    const policy = await iam.send(new CreatePolicyCommand({ PolicyName: uniqueName('policy'), PolicyDocument: s3Policy(bucket, prefix, opts.actions) }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: policy.Policy!.Arn! }));
  }
  await client.query(`CREATE CONNECTION ${connection} TO AWS (ASSUME ROLE ARN = '${roleArn}')`);
  const res = await client.query(
    `SELECT awsc.id, external_id FROM mz_internal.mz_aws_connections awsc JOIN mz_connections c ON awsc.id = c.id WHERE c.name = $1`,
    [connection],
  );
  const externalId = res.rows[0].external_id as string;
  await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: roleName, PolicyDocument: trustPolicy(externalId) }));
  iam.destroy();
  s3.destroy();
  return { bucket, prefix, roleArn, roleName, connection, externalId };
}

export interface KeyUser {
  bucket: string;
  userName: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * A bucket and an IAM user with an access key whose policy is `policy` (default: s3Policy on `exports/`), the
 * way an S3 compatible service hands out keys; mz-local enforces the user's policies.
 */
export async function setupKeyUser(moto: Moto, policy?: (bucket: string) => string): Promise<KeyUser> {
  const { iam, s3 } = awsClients(moto);
  try {
    const bucket = uniqueName('bucket');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const userName = uniqueName('exporter');
    await iam.send(new CreateUserCommand({ UserName: userName }));
    const key = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
    const doc = policy ? policy(bucket) : s3Policy(bucket, 'exports');
    const created = await iam.send(new CreatePolicyCommand({ PolicyName: uniqueName('p'), PolicyDocument: doc }));
    await iam.send(new AttachUserPolicyCommand({ UserName: userName, PolicyArn: created.Policy!.Arn! }));
    return { bucket, userName, accessKeyId: key.AccessKey!.AccessKeyId!, secretAccessKey: key.AccessKey!.SecretAccessKey! };
  } finally {
    iam.destroy();
    s3.destroy();
  }
}

export async function listKeys(moto: Moto, bucket: string, prefix: string): Promise<string[]> {
  const { s3 } = awsClients(moto);
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of res.Contents ?? []) keys.push(o.Key!);
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  } finally {
    s3.destroy();
  }
}

export async function getObject(moto: Moto, bucket: string, key: string): Promise<Buffer> {
  const { s3 } = awsClients(moto);
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  } finally {
    s3.destroy();
  }
}

export async function putObject(moto: Moto, bucket: string, key: string, body = 'x'): Promise<void> {
  const { s3 } = awsClients(moto);
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  } finally {
    s3.destroy();
  }
}

/** Runs `fn` expecting a pg error; returns it. */
export async function expectPgError(fn: () => Promise<unknown>): Promise<{ message: string; code: string; detail?: string; hint?: string }> {
  try {
    await fn();
  } catch (e) {
    return e as { message: string; code: string; detail?: string; hint?: string };
  }
  throw new Error('expected an error, but the statement succeeded');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface SharedStack {
  moto: Moto;
  server: MzLocalServer;
}

let shared: Promise<SharedStack> | null = null;

/**
 * One moto and one mz-local shared by the test files of this suite (started on first use, stopped after
 * all tests). Tests that need special server options start their own.
 */
export function sharedMzLocalStack(): Promise<SharedStack> {
  shared ??= (async () => {
    const moto = await startMoto();
    try {
      const server = await startServer(moto, { sampleData: true });
      return { moto, server };
    } catch (e) {
      await moto.stop();
      throw e;
    }
  })();
  return shared;
}

if (typeof after === 'function') {
  after(async function () {
    this.timeout(30_000);
    if (!shared) return;
    const s = await shared.catch(() => null);
    shared = null;
    if (!s) return;
    await s.server.close();
    await s.moto.stop();
  });
}

export interface SuiteContext {
  stack: SharedStack;
  /** The sessions asked for, connected before the suite's tests and closed after them. */
  clients: Client[];
  /** The onboarding setup (bucket, policy, role, connection), when asked for. */
  setup?: ExportSetup;
}

/**
 * Registers a suite's usual hooks on the shared stack: `clients` sessions (default 1) and, with
 * `exportSetup`, the onboarding path done with the first of them; `assign` receives them in `before`.
 */
export function useSuite(opts: { clients?: number; exportSetup?: boolean }, assign: (ctx: SuiteContext) => void): void {
  let clients: Client[] = [];
  before(async function () {
    this.timeout(180_000); // starting PGlite takes 30-40 s on a loaded 2-core machine
    const stack = await sharedMzLocalStack();
    clients = await Promise.all(Array.from({ length: opts.clients ?? 1 }, () => connect(stack.server)));
    const setup = opts.exportSetup ? await setupExport(stack.moto, clients[0]) : undefined;
    assign({ stack, clients, setup });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  });
}

/** An assumed role for tests that drive the uploaders directly (no trust checks involved). */
export function fakeRole() {
  return {
    roleArn: 'arn:aws:iam::123456789012:role/test',
    roleName: 'test',
    account: '123456789012',
    sessionArn: 'arn:aws:sts::123456789012:assumed-role/test/s',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    region: 'us-east-1',
    endpoint: undefined,
  };
}

/**
 * Runs `sql` over the extended protocol the way a driver with cached statement descriptions does: Parse,
 * Bind, Execute, Sync with no Describe, on a raw connection. Returns the text values of the DataRows.
 */
export async function extendedWithoutDescribe(server: MzLocalServer, sql: string): Promise<(string | null)[][]> {
  const msg = (type: string, body: Buffer) => {
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  };
  const cstr = (s: string) => Buffer.from(s + '\0', 'utf8');
  const startupBody = Buffer.concat([Buffer.from([0, 3, 0, 0]), cstr('user'), cstr('materialize'), cstr('database'), cstr('materialize'), Buffer.from([0])]);
  const startup = Buffer.concat([Buffer.alloc(4), startupBody]);
  startup.writeInt32BE(startup.length, 0);
  const sock = net.connect({ host: server.host, port: server.port });
  let buf = Buffer.alloc(0);
  const waiters: (() => void)[] = [];
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    waiters.splice(0).forEach((w) => w());
  });
  /** Reads messages until a ReadyForQuery. */
  const untilReady = async (): Promise<{ type: string; body: Buffer }[]> => {
    const out: { type: string; body: Buffer }[] = [];
    for (;;) {
      while (buf.length >= 5 && buf.length >= 1 + buf.readInt32BE(1)) {
        const len = buf.readInt32BE(1);
        const m = { type: String.fromCharCode(buf[0]), body: buf.subarray(5, 1 + len) };
        buf = buf.subarray(1 + len);
        out.push(m);
        if (m.type === 'Z') return out;
      }
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    sock.write(startup);
    await untilReady();
    const i16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
    sock.write(
      Buffer.concat([
        msg('P', Buffer.concat([cstr(''), cstr(sql), i16(0)])),
        msg('B', Buffer.concat([cstr(''), cstr(''), i16(0), i16(0), i16(0)])),
        msg('E', Buffer.concat([cstr(''), Buffer.alloc(4)])),
        msg('S', Buffer.alloc(0)),
      ]),
    );
    const res = await untilReady();
    const error = res.find((m) => m.type === 'E');
    if (error) throw new Error(`error response: ${error.body.toString('utf8').replace(/\0/g, ' ')}`);
    return res
      .filter((m) => m.type === 'D')
      .map((m) => {
        const n = m.body.readInt16BE(0);
        const row: (string | null)[] = [];
        let p = 2;
        for (let k = 0; k < n; k++) {
          const len = m.body.readInt32BE(p);
          p += 4;
          row.push(len < 0 ? null : m.body.toString('utf8', p, p + len));
          if (len > 0) p += len;
        }
        return row;
      });
  } finally {
    sock.destroy();
  }
}

/** The Arrow schema embedded in a Parquet file's ARROW:schema metadata (an IPC message). */
export function readArrowSchema(buf: Buffer): arrow.Schema {
  // the value is an IPC message (optionally after a continuation marker)
  const reader = new arrow.MessageReader(buf);
  return reader.readSchema()!;
}

/** Exports a query as Parquet under `<prefix>/<name>`: its rows (sorted by id when there is one) and the Arrow schema written. */
export async function exportQueryParquet(stack: SharedStack, c: Client, s: ExportSetup, name: string, query: string) {
  const path = `${s.prefix}/${name}`;
  await c.query(`COPY (${query}) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'parquet')`);
  const rows: Record<string, unknown>[] = [];
  const arrowRows: Record<string, unknown>[] = [];
  let metadata: ReturnType<typeof parquetMetadata> | undefined;
  for (const k of await listKeys(stack.moto, s.bucket, path + '/')) {
    const f = await getObject(stack.moto, s.bucket, k);
    const ab = f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength) as ArrayBuffer;
    metadata ??= parquetMetadata(ab);
    // hyparquet reads maps only with key/value children; Materialize names them keys/values
    rows.push(...((await parquetReadObjects({ file: ab, columns: topLevelColumnsWithoutMaps(metadata) })) as Record<string, unknown>[]));
    // the Rust reader (parquet-wasm, arrow-rs) reads everything
    arrowRows.push(...arrow.tableFromIPC(pw.readParquet(new Uint8Array(ab)).intoIPCStream()).toArray().map((r) => r.toJSON() as Record<string, unknown>));
  }
  rows.sort((a, b) => Number(a.id) - Number(b.id));
  const schemaB64 = metadata!.key_value_metadata?.find((kv) => kv.key === 'ARROW:schema')?.value;
  // the Parquet schema's elements (depth-first names), which apache-arrow's reader may rename (maps)
  const parquetNames = metadata!.schema.map((e) => e.name);
  return { rows, arrowRows, schema: readArrowSchema(Buffer.from(schemaB64!, 'base64')), parquetNames };
}

/** Exports a query as CSV under `<prefix>/<name>`: the lines of all files, sorted. */
export async function exportQueryCsvLines(stack: SharedStack, c: Client, s: ExportSetup, name: string, query: string): Promise<string[]> {
  const path = `${s.prefix}/${name}`;
  await c.query(`COPY (${query}) TO 's3://${s.bucket}/${path}' WITH (AWS CONNECTION = ${s.connection}, FORMAT = 'csv')`);
  const keys = await listKeys(stack.moto, s.bucket, path + '/');
  const text = (await Promise.all(keys.map((k) => getObject(stack.moto, s.bucket, k)))).map((b) => b.toString('utf8')).join('');
  return text.split('\n').filter(Boolean).sort();
}

/** The child fields of a nested Arrow type with their Materialize extension names. */
export function childExtensions(type: unknown): [string, string | undefined][] {
  return (type as { children: arrow.Field[] }).children.map((ch) => [ch.name, ch.metadata.get('ARROW:extension:name')]);
}

/** The file's top-level columns except maps (which hyparquet cannot read when named as Materialize names them). */
function topLevelColumnsWithoutMaps(metadata: FileMetaData): string[] {
  const out: string[] = [];
  const schema = metadata.schema;
  let i = 1;
  const skip = (k: number): number => {
    let next = k + 1;
    for (let n = 0; n < (schema[k].num_children ?? 0); n++) next = skip(next);
    return next;
  };
  while (i < schema.length) {
    const e = schema[i];
    if (e.converted_type !== 'MAP' && e.logical_type?.type !== 'MAP') out.push(e.name);
    i = skip(i);
  }
  return out;
}
