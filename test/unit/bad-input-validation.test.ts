/**
 * The bad-input suite, first half: every field of every input the project takes (bulkExport, onboarding,
 * offboarding, the schedule file) fed malformed and hostile values, through the same functions the workflows
 * and the CLI run before anything else. Each must be rejected as InvalidInputError naming the field, in a
 * message a person can read (short: a megabyte value is not echoed back); or, where a value is legitimately
 * allowed (a quoted identifier may contain anything), it must reach SQL and IAM documents only quoted.
 * The second half (test/reliability/bad-input-workflows.test.ts) starts the workflows with such input on the real
 * stack and checks that no side effect happened.
 */
import { strict as assert } from 'node:assert';
import { resolveExportInput } from '../../common/export/input';
import { buildCopySql } from '../../common/export/sql';
import { s3AccessPolicy, serializePolicy } from '../../common/iam-policies';
import { resolveOffboardInput, resolveOnboardInput } from '../../common/onboarding/input';
import { resolveExpireInput } from '../../common/retention/input';
import { createConnectionSql } from '../../common/onboarding/sql';
import { parseScheduleFile } from '../../client/schedules/file';
import { quoteQualifiedName } from '../../common/sql/quoting';
import {
  HUGE,
  NON_UTF8_AND_INVISIBLE,
  PASTED_SECRET,
  VALID_EXPIRE,
  VALID_EXPIRE_TARGET,
  VALID_EXPORT,
  VALID_NOTIFY,
  VALID_OFFBOARD,
  VALID_ONBOARD,
  PATH_TRAVERSAL,
  POLICY_INJECTION,
  SQL_INJECTION,
  WRONG_TOP_LEVEL,
  WRONG_TYPES,
} from '../helpers/hostile-values';

/** A message short enough to read: a value is quoted at most in part. */
const READABLE_MESSAGE_CHARS = 4000;

function rejection(fn: () => unknown): Error | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

/** Asserts fn throws InvalidInputError naming field, in a readable message. */
function assertRejected(fn: () => unknown, field: string, value: unknown): void {
  const e = rejection(fn);
  const shown = typeof value === 'string' && value.length > 60 ? `${value.slice(0, 30)}...(${value.length} chars)` : JSON.stringify(value);
  assert.ok(e, `${field} = ${shown} was accepted`);
  assert.equal(e.name, 'InvalidInputError', `${field} = ${shown}: ${e.name}: ${e.message.slice(0, 300)}`);
  assert.ok(e.message.includes(field), `${field} = ${shown}: the message does not name the field: ${e.message.slice(0, 300)}`);
  assert.ok(
    e.message.length < READABLE_MESSAGE_CHARS,
    `${field} = ${shown}: the message is ${e.message.length} characters; it echoes the value instead of describing it`,
  );
}

const everyFamily = (extra: unknown[] = []) => [
  ...SQL_INJECTION,
  ...POLICY_INJECTION,
  ...PATH_TRAVERSAL,
  HUGE,
  ...NON_UTF8_AND_INVISIBLE,
  ...WRONG_TYPES.filter((v) => v !== null),
  ...extra,
];

/** Values that are legitimately accepted for a field, each with the reason. */
type Allowed = Record<string, string>;

/** IAM names may contain '.', so these are real (if odd) names; they never reach a path or a document unquoted. */
const IAM_NAMES_ALLOWED: Allowed = { 'a.b.c.d': 'dots are allowed in IAM names', '..': 'a valid IAM name, used only as a name' };

function checkField(
  resolve: (input: unknown) => unknown,
  valid: Record<string, unknown>,
  field: string,
  values: unknown[],
  allowed: Allowed = {},
): string[] {
  const accepted: string[] = [];
  for (const value of values) {
    if (typeof value === 'string' && value in allowed) {
      assert.ok(!rejection(() => resolve({ ...valid, [field]: value })), `${field} = ${JSON.stringify(value)} should be allowed: ${allowed[value]}`);
      accepted.push(value);
      continue;
    }
    assertRejected(() => resolve({ ...valid, [field]: value }), field, value);
  }
  return accepted;
}

describe('bad input, part 1: every field rejects malformed and hostile values before anything runs', () => {
  it('the valid baselines are accepted (so each rejection below is caused by its one field)', () => {
    resolveExportInput(VALID_EXPORT);
    resolveExportInput({ ...VALID_EXPORT, object: undefined, query: 'SELECT 1' });
    resolveOnboardInput(VALID_ONBOARD);
    resolveOffboardInput(VALID_OFFBOARD);
    resolveExpireInput(VALID_EXPIRE);
    resolveExportInput({ ...VALID_EXPORT, notify: VALID_NOTIFY });
  });

  describe('bulkExport input (what the Web UI, a schedule or the CLI passes)', () => {
    it('rejects a whole input that is not one JSON object, and unknown fields (typos, prototype pollution)', () => {
      for (const v of WRONG_TOP_LEVEL) assertRejected(() => resolveExportInput(v), 'input', v);
      assertRejected(() => resolveExportInput({ ...VALID_EXPORT, bucktet: 'x' }), 'bucktet', 'typo');
      const polluted = JSON.parse(`{"exportName":"e","connectionName":"c","object":"o","bucket":"audit-bucket","prefix":"p","format":"csv","__proto__":{"polluted":true}}`);
      assertRejected(() => resolveExportInput(polluted), '__proto__', 'pollution');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it('exportName: only a plain folder name', () => {
      checkField(resolveExportInput, VALID_EXPORT, 'exportName', everyFamily([null, '', '-lead', 'a'.repeat(101)]), {
        'a.b.c.d': 'dots are fine inside a folder name',
      });
    });

    for (const field of ['connectionName', 'object']) {
      it(`${field}: a possibly qualified SQL name; anything else rejected, and what is allowed is quoted`, () => {
        const accepted = checkField(resolveExportInput, VALID_EXPORT, field, everyFamily(['', '"unclosed', 'a..b', '"a"b']), {
          $$x$$: 'a name made of $ and letters is only ever used quoted',
        });
        // Allowed odd names, and names that are valid only quoted, end up as one quoted identifier per part.
        for (const name of [...accepted, '"x""; DROP TABLE orders; --"', '"conn -- c"']) {
          const sql = buildCopySql({
            [field === 'object' ? 'object' : 'connectionName']: name,
            ...(field === 'object' ? { connectionName: 's3_conn' } : { object: 'orders' }),
            targetUri: 's3://audit-bucket/exports/x',
            format: 'csv',
          } as Parameters<typeof buildCopySql>[0]);
          assert.ok(sql.includes(quoteQualifiedName(name)), sql);
          const outside = sql.replace(quoteQualifiedName(name), '"X"');
          assert.doesNotMatch(outside, /DROP|--|;/, `an injected token escaped its quotes: ${sql}`);
        }
      });
    }

    it('query: one SELECT-like statement; stacked statements, unbalanced quotes and comments, DML rejected', () => {
      const bad = [
        'SELECT 1; DROP TABLE orders',
        `SELECT 1) TO 's3://evil-bucket/x' WITH (AWS CONNECTION = s3_conn, FORMAT = 'csv'); --`,
        `SELECT 1) TO 's3://evil-bucket/x' WITH (AWS CONNECTION = s3_conn, FORMAT = 'csv') --`,
        `SELECT 'unclosed`,
        `SELECT 1 /* unclosed`,
        `SELECT "unclosed`,
        `SELECT E'\\'); DROP TABLE orders; --`,
        // Read as Materialize reads them: a string continued on the next line keeps E-string escapes, so the old
        // validator saw one literal where Materialize runs a hidden column, or opens a comment a prefix closes.
        `SELECT e'a'\n'\\' ' AS c, 42 AS hidden_column --'`,
        `SELECT e'a'\n'\\' ' /* '`,
        'SELECT $1',
        'SELECT $a b$x$a b$',
        'DELETE FROM orders',
        'COPY orders TO STDOUT',
        'DROP TABLE orders',
        'SELECT * FROM orders ORDER BY 1',
        '',
        '   ;  ',
        'nul\u0000',
        ...WRONG_TYPES.filter((v) => v !== null),
      ];
      for (const q of bad) assertRejected(() => resolveExportInput({ ...VALID_EXPORT, object: undefined, query: q }), 'query', q);
      // Injection text inside a string literal or comment is data: allowed, and it stays inside the COPY's ( ).
      for (const q of [`SELECT '1''); DROP TABLE orders; --' AS x`, 'SELECT 1 AS x -- ) TO evil', 'SELECT 1 /* ; */ AS x', "SELECT $$'); --$$ AS x"]) {
        const input = resolveExportInput({ ...VALID_EXPORT, object: undefined, query: q });
        assert.equal(input.source.kind, 'query');
      }
    });

    // The query travels in activity inputs, the manifest and the history: it must stay far below Temporal's limits.
    it('query: a megabyte of SQL is rejected with a readable message', () => {
      assertRejected(() => resolveExportInput({ ...VALID_EXPORT, object: undefined, query: `SELECT ${HUGE}` }), 'query', 'SELECT aaaa...');
    });

    it('object and query together, or neither, are rejected', () => {
      assertRejected(() => resolveExportInput({ ...VALID_EXPORT, query: 'SELECT 1' }), 'object/query', 'both');
      assertRejected(() => resolveExportInput({ ...VALID_EXPORT, object: undefined }), 'object/query', 'neither');
    });

    it('bucket: only an S3 bucket name', () => {
      checkField(resolveExportInput, VALID_EXPORT, 'bucket', everyFamily([null, '', 'ab', 'Audit', '192.168.0.1', 'xn--bucket']), {
        'a.b.c.d': 'dots are allowed in bucket names',
      });
    });

    it('prefix: a relative key prefix; no traversal, no empty segments, no characters outside the safe set', () => {
      // One grammar with onboarding's: no IAM wildcard, no SQL comment opener or closer, no '..'.
      checkField(resolveExportInput, VALID_EXPORT, 'prefix', everyFamily([null, '', 'a'.repeat(513), 'exports/*', '*', 'x*/', 'a--b', 'a/b..c', 'a?b']), {
        'a.b.c.d': 'dots inside a segment are fine',
      });
    });

    it('format, maxFileSize, csvHeader, logicalTime, materializeProfile, maxAttempts, publishLatest, tuning', () => {
      const strings = [...SQL_INJECTION, HUGE, ...NON_UTF8_AND_INVISIBLE, ...WRONG_TYPES.filter((v) => v !== null)];
      checkField(resolveExportInput, VALID_EXPORT, 'format', [...strings, 'CSV ', 'text', 'binary', null]);
      // Materialize's units are case-sensitive (src/repr/src/bytes.rs): KB, gb and MiB are not sizes it reads.
      checkField(resolveExportInput, VALID_EXPORT, 'maxFileSize', [...strings, '1MB', '5GB', `16MB'); DROP TABLE t; --`, '16384KB', '1gb', '256MiB', ' 256MB', '1 2MB']);
      checkField(resolveExportInput, { ...VALID_EXPORT, format: 'csv' }, 'csvHeader', ['true', 1, [], {}]);
      checkField(resolveExportInput, VALID_EXPORT, 'logicalTime', [...strings, '2024-05-01', '2024-05-01T00:00:00', '0001-01-01T00:00:00Z', `2024-05-01T00:00:00Z/../../x`,
        // Date would roll these over or truncate them into another folder.
        '2024-02-30T00:00:00Z', '2024-01-01T24:00:00Z', '2024-01-01T00:00:00.0009Z', '2024-01-01T00:00:60Z']);
      checkField(resolveExportInput, VALID_EXPORT, 'materializeProfile', [...strings, ...PATH_TRAVERSAL, 'DEFAULT', '']);
      checkField(resolveExportInput, VALID_EXPORT, 'maxAttempts', ['3', 0, -1, 1.5, 21, 1e9, [], {}, true]);
      checkField(resolveExportInput, VALID_EXPORT, 'publishLatest', ['false', 0, [], {}]);
      checkField(resolveExportInput, VALID_EXPORT, 'tuning', ['fast', 1, [], true]);
      for (const tuning of [{ copyTimeoutSeconds: 1e12 }, { pollInitialMs: 0 }, { pollInitialMs: -5 }, { nope: 1 }, { copyHeartbeatTimeoutSeconds: '60' }]) {
        assertRejected(() => resolveExportInput({ ...VALID_EXPORT, tuning }), 'tuning.', tuning);
      }
    });
  });

  describe('onboardAwsConnection input', () => {
    it('rejects a whole input that is not one object, and unknown fields', () => {
      for (const v of WRONG_TOP_LEVEL) assertRejected(() => resolveOnboardInput(v), 'input', v);
      assertRejected(() => resolveOnboardInput({ ...VALID_ONBOARD, roleArn: 'arn:aws:iam::1:role/x' }), 'roleArn', 'unknown');
    });

    it('bucket and prefix: no JSON or IAM policy injection, no wildcards, no traversal', () => {
      checkField(resolveOnboardInput, VALID_ONBOARD, 'bucket', everyFamily([null, '']), { 'a.b.c.d': 'dots are allowed in bucket names' });
      checkField(resolveOnboardInput, VALID_ONBOARD, 'prefix', everyFamily([null, '']), { 'a.b.c.d': 'dots inside a segment are fine' });
    });

    it('whatever bucket and prefix pass, the policy has exactly the two statements, scoped to them', () => {
      for (const [bucket, prefix] of [
        ['audit-bucket', 'exports'],
        ['a.b-c', "team=a/(x)/it's!"],
      ]) {
        const input = resolveOnboardInput({ ...VALID_ONBOARD, bucket, prefix });
        const doc = JSON.parse(serializePolicy(s3AccessPolicy(input.bucket, input.prefix)));
        assert.equal(doc.Statement.length, 2);
        assert.deepEqual(doc.Statement[0].Resource, [`arn:aws:s3:::${bucket}/${prefix}/*`]);
        assert.deepEqual(doc.Statement[1].Resource, [`arn:aws:s3:::${bucket}`]);
        assert.deepEqual(doc.Statement[1].Condition, { StringLike: { 's3:prefix': [`${prefix}/*`] } });
      }
    });

    it('roleName, policyName: IAM names only', () => {
      for (const field of ['roleName', 'policyName']) {
        checkField(resolveOnboardInput, VALID_ONBOARD, field, everyFamily([null, '', 'a'.repeat(129)]), IAM_NAMES_ALLOWED);
      }
    });

    it('connectionName: one plain lower-case identifier (it is created, so it must be typeable unquoted)', () => {
      checkField(resolveOnboardInput, VALID_ONBOARD, 'connectionName', everyFamily([null, '', 'Conn', '1conn', 'a'.repeat(64)]));
      // What passes is still quoted in the SQL.
      assert.equal(createConnectionSql('s3_conn', 'arn:aws:iam::123456789012:role/r'), `CREATE CONNECTION "s3_conn" TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/r') WITH (VALIDATE = false)`);
    });

    it('region, materializePrincipal, materializeProfile, createBucket, timeouts, retry', () => {
      const strings = [...SQL_INJECTION, ...POLICY_INJECTION, HUGE, ...NON_UTF8_AND_INVISIBLE, ...WRONG_TYPES.filter((v) => v !== null)];
      checkField(resolveOnboardInput, VALID_ONBOARD, 'region', [...strings, 'US-EAST-1', 'mars-1', '']);
      checkField(resolveOnboardInput, VALID_ONBOARD, 'materializePrincipal', [
        ...strings,
        '*',
        'arn:aws:iam::*:role/x',
        `arn:aws:iam::123456789012:role/x","Effect":"Allow`,
        'arn:aws:iam::12345678901:role/short-account',
      ]);
      checkField(resolveOnboardInput, VALID_ONBOARD, 'materializeProfile', [...strings, ...PATH_TRAVERSAL, 'DEFAULT', '']);
      checkField(resolveOnboardInput, VALID_ONBOARD, 'createBucket', ['yes', 1, [], {}]);
      checkField(resolveOnboardInput, VALID_ONBOARD, 'validationTimeoutSeconds', ['600', 0, -1, 1e12, [], {}, true]);
      checkField(resolveOnboardInput, VALID_ONBOARD, 'stepTimeoutSeconds', ['300', 0, 1e12, [], {}]);
      checkField(resolveOnboardInput, VALID_ONBOARD, 'retry', ['fast', 1, [], true]);
      for (const retry of [{ initialIntervalSeconds: 0 }, { backoffCoefficient: 100 }, { maximumIntervalSeconds: -1 }, { jitter: 1 }]) {
        assertRejected(() => resolveOnboardInput({ ...VALID_ONBOARD, retry }), 'retry.', retry);
      }
    });
  });

  describe('offboardAwsConnection input', () => {
    it('rejects hostile names, and requires a valid bucket and prefix before it may delete data', () => {
      for (const v of WRONG_TOP_LEVEL) assertRejected(() => resolveOffboardInput(v), 'input', v);
      checkField(resolveOffboardInput, VALID_OFFBOARD, 'connectionName', everyFamily([null, '']));
      for (const field of ['roleName', 'policyName']) {
        checkField(resolveOffboardInput, VALID_OFFBOARD, field, everyFamily([null, '']), IAM_NAMES_ALLOWED);
      }
      checkField(resolveOffboardInput, VALID_OFFBOARD, 'deleteData', ['true', 1, [], {}]);
      assertRejected(() => resolveOffboardInput({ ...VALID_OFFBOARD, deleteData: true }), 'bucket', 'missing');
      for (const prefix of ['', '*', 'exports/*', '..', '/']) {
        assertRejected(() => resolveOffboardInput({ ...VALID_OFFBOARD, deleteData: true, bucket: 'audit-bucket', prefix }), 'prefix', prefix);
      }
    });
  });

  describe('bulkExport notify (publication events)', () => {
    const withTarget = (target: string, value: unknown) => ({ ...VALID_EXPORT, notify: { ...VALID_NOTIFY, [target]: value } });
    const field = (target: string, key: string, value: unknown) => withTarget(target, { ...(VALID_NOTIFY as Record<string, object>)[target], [key]: value });

    it('rejects a notify that is not an object of known targets, or names none', () => {
      for (const v of [...WRONG_TYPES.filter((x) => !(typeof x === 'object' && x !== null && !Array.isArray(x))), 'sns']) {
        assertRejected(() => resolveExportInput({ ...VALID_EXPORT, notify: v }), 'notify', v);
      }
      assertRejected(() => resolveExportInput({ ...VALID_EXPORT, notify: {} }), 'notify', {});
      assertRejected(() => resolveExportInput({ ...VALID_EXPORT, notify: { kafka: { topic: 't' } } }), 'notify.kafka', 'unknown target');
      assertRejected(() => resolveExportInput(JSON.parse(`{"exportName":"e","connectionName":"c","object":"o","bucket":"audit-bucket","prefix":"p","format":"csv","notify":{"__proto__":{"x":1}}}`)), 'notify.__proto__', 'pollution');
      for (const target of Object.keys(VALID_NOTIFY)) assertRejected(() => resolveExportInput(withTarget(target, 'x')), `notify.${target}`, 'x');
    });

    it('sns.topicArn: an SNS topic ARN only; another service, a wildcard, a region or account injection rejected', () => {
      for (const arn of [
        'not-an-arn',
        'arn:aws:sqs:us-east-1:123456789012:exports-published',
        'arn:aws:s3:::audit-bucket',
        'arn:aws:sns:us-east-1:123456789012:*',
        'arn:aws:sns:*:123456789012:t',
        'arn:aws:sns:us-east-1:*:t',
        'arn:aws:sns:us-east-1:12345678901:t',
        'arn:aws:sns:x:123456789012:t',
        'arn:aws:sns:us-east-1:123456789012:t","Resource":"*',
        'arn:aws:sns:us-east-1:123456789012:t:subscription-id',
        ...SQL_INJECTION,
        ...POLICY_INJECTION,
        HUGE,
        ...NON_UTF8_AND_INVISIBLE,
        '',
        42,
      ]) {
        assertRejected(() => resolveExportInput(field('sns', 'topicArn', arn)), 'notify.sns.topicArn', arn);
      }
    });

    it('sqs.queueUrl: a plain queue URL; another service, wildcards, paths and credentials rejected', () => {
      for (const url of [
        'arn:aws:sqs:us-east-1:123456789012:q',
        'https://sqs.us-east-1.amazonaws.com/123456789012/*',
        'https://sqs.us-east-1.amazonaws.com/*/q',
        'https://sqs.us-east-1.amazonaws.com/123456789012/../q',
        'https://sqs.us-east-1.amazonaws.com/123456789012/q/extra',
        'file:///etc/passwd',
        'https://sqs.us-east-1.amazonaws.com/123456789012/q#x',
        ...PATH_TRAVERSAL,
        HUGE,
        '',
        {},
      ]) {
        assertRejected(() => resolveExportInput(field('sqs', 'queueUrl', url)), 'notify.sqs.queueUrl', url);
      }
    });

    it('eventBridge.eventBusName: a bus name or events ARN; another service or a wildcard rejected', () => {
      for (const bus of ['arn:aws:sns:us-east-1:123456789012:t', 'arn:aws:events:us-east-1:123456789012:rule/r', 'arn:aws:events:*:123456789012:event-bus/b', '*', 'bus name', 'a'.repeat(257), '', HUGE, null]) {
        assertRejected(() => resolveExportInput(field('eventBridge', 'eventBusName', bus)), 'notify.eventBridge.eventBusName', bus);
      }
    });

    it('temporal: an empty or hostile workflow type, task queue, signal or id prefix rejected', () => {
      for (const [key, values] of [
        ['workflowType', ['', ' ', '1load', 'load orders', 'a'.repeat(201), ...SQL_INJECTION.filter((v) => v !== 'a.b.c.d'), HUGE, null]],
        ['taskQueue', ['', 'queue with spaces', 'a'.repeat(201), ...NON_UTF8_AND_INVISIBLE, HUGE]],
        ['signalName', ['', 'sig nal', HUGE, 1]],
        ['workflowIdPrefix', ['', 'pre fix', ...NON_UTF8_AND_INVISIBLE, HUGE]],
      ] as const) {
        for (const v of values) assertRejected(() => resolveExportInput(field('temporal', key, v)), `notify.temporal.${key}`, v);
      }
      assertRejected(() => resolveExportInput(withTarget('temporal', { taskQueue: 'q' })), 'notify.temporal.workflowType', 'missing');
    });

    it('oversized: a megabyte field name, or thousands of extra fields, give a short message', () => {
      assertRejected(() => resolveExportInput(field('sns', HUGE, 'x')), 'notify.sns.', 'huge key');
      const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`attribute${i}`, 'x'.repeat(100)]));
      assertRejected(() => resolveExportInput(withTarget('sns', { ...VALID_NOTIFY.sns, ...many })), 'notify.sns.attribute0', 'many keys');
      assert.match(rejection(() => resolveExportInput(withTarget('sns', { ...VALID_NOTIFY.sns, ...many })))!.message, /and 4980 more problem/);
    });

    it('secrets: credential fields and credentials inside values are refused without repeating them', () => {
      const cases: [object, string][] = [
        [field('sqs', 'queueUrl', `https://AKIAIOSFODNN7EXAMPLE:${encodeURIComponent(PASTED_SECRET)}@sqs.us-east-1.amazonaws.com/123456789012/q`), 'notify.sqs.queueUrl'],
        [field('sqs', 'queueUrl', `https://sqs.us-east-1.amazonaws.com/123456789012/q?X-Amz-Signature=${PASTED_SECRET}`), 'notify.sqs.queueUrl'],
        [field('sns', 'secretAccessKey', PASTED_SECRET), 'notify.sns.secretAccessKey'],
        [field('eventBridge', 'credentials', { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: PASTED_SECRET }), 'notify.eventBridge.credentials'],
        [field('temporal', 'apiKey', PASTED_SECRET), 'notify.temporal.apiKey'],
        [field('temporal', 'workflowIdPrefix', 'AKIAIOSFODNN7EXAMPLE'), 'notify.temporal.workflowIdPrefix'],
        [field('sns', 'topicArn', { secretAccessKey: PASTED_SECRET }), 'notify.sns.topicArn'],
      ];
      for (const [input, name] of cases) {
        assertRejected(() => resolveExportInput(input), name, 'a secret');
        const message = rejection(() => resolveExportInput(input))!.message;
        assert.ok(!message.includes(PASTED_SECRET) && !message.includes(encodeURIComponent(PASTED_SECRET)) && !message.includes('AKIAIOSFODNN7EXAMPLE'), `${name}: the secret is repeated: ${message}`);
        if (!name.endsWith('topicArn')) assert.match(message, /credentials never belong in notify/, name);
      }
    });

    it('a staged export (a snapshot-set member) takes no notify', () => {
      assertRejected(() => resolveExportInput({ ...VALID_EXPORT, commit: 'stage', notify: VALID_NOTIFY }), 'notify', 'stage');
    });
  });

  describe('expireExports input (retention)', () => {
    const target = (fields: Record<string, unknown>) => ({ ...VALID_EXPIRE, targets: [{ ...VALID_EXPIRE_TARGET, ...fields }] });

    it('rejects a whole input that is not one object, unknown fields, and a targets list of the wrong shape', () => {
      for (const v of WRONG_TOP_LEVEL) assertRejected(() => resolveExpireInput(v), 'input', v);
      assertRejected(() => resolveExpireInput({ ...VALID_EXPIRE, aply: true }), 'aply', 'typo');
      assertRejected(() => resolveExpireInput({ ...VALID_EXPIRE, awsSecretAccessKey: PASTED_SECRET }), 'awsSecretAccessKey', 'a secret');
      assert.ok(!rejection(() => resolveExpireInput({ ...VALID_EXPIRE, awsSecretAccessKey: PASTED_SECRET }))!.message.includes(PASTED_SECRET));
      for (const targets of [undefined, [], 'x', {}, Array(1001).fill(VALID_EXPIRE_TARGET), [null], [[]]]) {
        assertRejected(() => resolveExpireInput({ targets }), 'targets', targets?.toString().slice(0, 20));
      }
    });

    it('keepLast: a whole number from 1 to 100000; negative, zero, fractional, NaN-like, huge and text rejected', () => {
      for (const keepLast of [0, -1, -0.5, 1.5, 100_001, 1e308, Number.MAX_SAFE_INTEGER + 2, '3', '1e3', null, [], {}, true]) {
        assertRejected(() => resolveExpireInput(target({ keepLast })), 'targets[0].keepLast', keepLast);
      }
      // NaN and Infinity cannot come through JSON, but a caller of the function could pass them.
      for (const keepLast of [Number.NaN, Infinity, -Infinity]) assertRejected(() => resolveExpireInput(target({ keepLast })), 'targets[0].keepLast', keepLast);
    });

    it('keepWithin: a duration of at least 1m; unparsable, zero, negative and overflowing ones rejected', () => {
      for (const keepWithin of ['', '30', '30 days', '1 hour', '-1d', '1.5d', '0s', '59s', 'P30D', '30d; rm -rf /', '9999999999999999d', HUGE, 30, null, {}]) {
        assertRejected(() => resolveExpireInput(target({ keepLast: undefined, keepWithin })), 'targets[0].keepWithin', keepWithin);
      }
      assertRejected(() => resolveExpireInput(target({ keepLast: undefined })), 'targets[0]', 'no rule');
    });

    it('bucket, prefix, name: traversal, absolute keys, wildcards and injection rejected', () => {
      for (const bucket of everyFamily([null, '', 'Audit', '192.168.0.1'])) {
        if (bucket === 'a.b.c.d') continue; // a valid bucket name
        assertRejected(() => resolveExpireInput(target({ bucket })), 'targets[0].bucket', bucket);
      }
      for (const prefix of everyFamily([null, '', '/', '/exports', 'exports/../..', '..', 'exports/*'])) {
        if (prefix === 'a.b.c.d') continue;
        assertRejected(() => resolveExpireInput(target({ prefix })), 'targets[0].prefix', prefix);
      }
      for (const name of everyFamily([null, '', '..', '.', '/orders', 'orders/..', 'orders/2024', '_latest.json/..'])) {
        if (name === 'a.b.c.d') continue;
        assertRejected(() => resolveExpireInput(target({ name })), 'targets[0].name', name);
      }
    });

    it('storageProfile: a profile name only; paths, URLs, upper case and a megabyte rejected', () => {
      for (const storageProfile of ['', 'R2', '../r2', 'r2/x', 'https://r2.example.com', 'r2;x', 'a'.repeat(65), HUGE, 1, null, {}]) {
        assertRejected(() => resolveExpireInput(target({ storageProfile })), 'targets[0].storageProfile', storageProfile);
      }
    });

    it('confirmed: only with apply, and only folders of these targets (another bucket, prefix or name, traversal rejected)', () => {
      const ok = 's3://audit-bucket/exports/orders-daily/20240501T000000.000Z/';
      assert.deepEqual(resolveExpireInput({ ...VALID_EXPIRE, apply: true, confirmed: [ok] }).confirmed, [ok]);
      assertRejected(() => resolveExpireInput({ ...VALID_EXPIRE, confirmed: [ok] }), 'confirmed', 'without apply');
      for (const c of [
        's3://other-bucket/exports/orders-daily/20240501T000000.000Z/',
        's3://audit-bucket/elsewhere/orders-daily/20240501T000000.000Z/',
        's3://audit-bucket/exports/revenue/20240501T000000.000Z/',
        's3://audit-bucket/exports/orders-daily/../revenue/20240501T000000.000Z/',
        's3://audit-bucket/exports/orders-daily/20240501T000000.000Z/attempt-001/',
        's3://audit-bucket/exports/orders-daily/20240230T000000.000Z/',
        's3://audit-bucket/exports/orders-daily/',
        's3://audit-bucket/exports/orders-daily/_latest.json',
      ]) {
        assertRejected(() => resolveExpireInput({ ...VALID_EXPIRE, apply: true, confirmed: [c] }), 'confirmed[0]', c);
      }
      assert.match(rejection(() => resolveExpireInput({ ...VALID_EXPIRE, apply: true, confirmed: ['s3://other-bucket/exports/orders-daily/20240501T000000.000Z/'] }))!.message, /bucket "other-bucket" matches none/);
      for (const confirmed of ['s3://audit-bucket/exports/orders-daily/20240501T000000.000Z/', ['/exports/orders-daily/'], [HUGE], [1]]) {
        assertRejected(() => resolveExpireInput({ ...VALID_EXPIRE, apply: true, confirmed }), 'confirmed', confirmed);
      }
    });

    it('apply and recentWriteSeconds: booleans and bounded whole seconds only', () => {
      for (const apply of ['true', 1, [], {}, null]) assertRejected(() => resolveExpireInput({ ...VALID_EXPIRE, apply }), 'apply', apply);
      for (const s of [-1, 1.5, 30 * 86400 + 1, '60', null, [], Infinity]) assertRejected(() => resolveExpireInput({ ...VALID_EXPIRE, recentWriteSeconds: s }), 'recentWriteSeconds', s);
    });
  });

  describe('schedule file', () => {
    const entry = (extra: string) =>
      `exports:\n  - name: orders\n    connectionName: s3_conn\n    object: orders\n    bucket: audit-bucket\n    prefix: exports\n    format: csv\n    cron: "0 3 * * *"\n${extra}`;

    it('the baseline entry parses', () => {
      assert.equal(parseScheduleFile(entry('')).entries.length, 1);
    });

    it('rejects an alias bomb (billion laughs) quickly instead of expanding it', () => {
      const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
      for (let i = 1; i < 10; i++) {
        const prev = String.fromCharCode(96 + i);
        const cur = String.fromCharCode(97 + i);
        bomb.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
      }
      // Rejected before expansion (the expanded document would hold 9^10 nodes and never finish); how fast
      // is a benchmark's question, not this test's: mocha's timeout bounds it.
      const e = rejection(() => parseScheduleFile(bomb.join('\n') + '\n' + entry('')));
      assert.ok(e, 'the alias bomb was accepted');
      assert.equal(e.name, 'InvalidInputError');
    });

    it('does not execute or construct language-specific tags', () => {
      const e = rejection(() => parseScheduleFile(entry(`    note: !!js/function "function () { process.exit(7) }"\n`)));
      // Either rejected or kept as plain text; never a function.
      if (!e) {
        const parsed = parseScheduleFile(entry(`    note: !!js/function "function () { process.exit(7) }"\n`));
        assert.equal(typeof parsed.entries[0].note, 'string');
      }
    });

    it('reports hostile field values in an entry, naming the line and field', () => {
      for (const [field, value] of [
        ['bucket', `"bucket\\",\\"Resource\\":\\"*"`],
        ['prefix', '"../other-team"'],
        ['connectionName', `"x'; DROP TABLE t; --"`],
        ['timezone', '"../../etc/localtime"'],
        ['cron', `"0 3 * * *; rm -rf /"`],
        ['overlap', '"$(reboot)"'],
      ] as const) {
        const line = new RegExp(`^    ${field}: .*$`, 'm');
        const text = line.test(entry('')) ? entry('').replace(line, `    ${field}: ${value}`) : entry(`    ${field}: ${value}\n`);
        assertRejected(() => parseScheduleFile(text), field, value);
        assert.match(rejection(() => parseScheduleFile(text))!.message, /schedules\.yaml:\d+/, 'names the line');
      }
    });

    it('rejects a huge key, in YAML and in JSON, with a readable message', () => {
      assertRejected(() => parseScheduleFile(entry(`    ${'k'.repeat(100_000)}: 1\n`)), 'schedules.yaml', 'huge YAML key');
      const json = JSON.stringify({ exports: [{ name: 'orders', cron: '0 3 * * *', ['k'.repeat(100_000)]: 1 }] });
      assertRejected(() => parseScheduleFile(json, 'schedules.json'), 'unknown field', 'huge JSON key');
    });
  });
});
