/**
 * Malformed and hostile values, by family, for every input field: what a careless or malicious user, a
 * copy-paste accident or the Web UI's free-form JSON can send.
 */

/** SQL quote and comment injection aimed at identifiers and literals. */
export const SQL_INJECTION = [
  `x'; DROP TABLE orders; --`,
  `x"; DROP TABLE orders; --`,
  `conn" (ASSUME ROLE ARN = 'arn:aws:iam::1:role/evil') --`,
  `conn -- trailing comment`,
  `conn/* block */`,
  `conn; SELECT 1`,
  `$$x$$`,
  `a.b.c.d`,
];

/** JSON and IAM policy injection aimed at the bucket and prefix that go into policy documents. */
export const POLICY_INJECTION = [
  `bucket","Resource":"*`,
  `exports"}],"Statement":[{"Effect":"Allow","Action":"*","Resource":"*`,
  `exports/*`,
  `*`,
  `exports/?`,
  `exports/${'$'}{aws:username}`,
];

export const PATH_TRAVERSAL = [`../other-team`, `exports/../../etc`, `/absolute`, `exports//double`, `./exports`, `..`, `exports\\..\\x`];

/** A megabyte: far beyond any name, and past Temporal's comfortable payload size. */
export const HUGE = 'a'.repeat(1_000_000);

/** Text a JSON document can carry that is not valid UTF-8 once encoded (lone surrogates), or that hides. */
export const NON_UTF8_AND_INVISIBLE = ['bad\uD800name', '\uDFFFx', 'nul\u0000byte', 'rtl\u202Eevil', 'zero\u200Bwidth', 'tab\tname', 'new\nline'];

/** Wrong JSON types, as a form or a hand-written JSON in the Web UI produces them. */
export const WRONG_TYPES: unknown[] = [42, true, null, [], ['x'], {}, { $ne: '' }];

/** What the Web UI can send as the whole input instead of one object. */
export const WRONG_TOP_LEVEL: unknown[] = [null, 'a string', 42, [], [{ bucket: 'b' }], true];

/** Valid inputs: each hostile case changes one field of these. */
export const VALID_EXPORT = {
  exportName: 'orders-daily',
  connectionName: 's3_conn',
  object: 'orders',
  bucket: 'audit-bucket',
  prefix: 'exports',
  format: 'parquet',
};

export const VALID_ONBOARD = {
  bucket: 'audit-bucket',
  prefix: 'exports',
  roleName: 'mz-export-role',
  policyName: 'mz-export-policy',
  connectionName: 's3_conn',
};

export const VALID_OFFBOARD = { connectionName: 's3_conn', roleName: 'mz-export-role', policyName: 'mz-export-policy' };

export const VALID_EXPIRE_TARGET = { bucket: 'audit-bucket', prefix: 'exports', name: 'orders-daily', keepLast: 3 };
export const VALID_EXPIRE = { targets: [VALID_EXPIRE_TARGET] };

/** One target of each kind, all valid (moto's account and region). */
export const VALID_NOTIFY = {
  sns: { topicArn: 'arn:aws:sns:us-east-1:123456789012:exports-published' },
  sqs: { queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/exports-published' },
  eventBridge: { eventBusName: 'exports' },
  temporal: { workflowType: 'loadOrders', taskQueue: 'warehouse-loads' },
};

/** A secret a careless user pastes into notify: it must be refused and never repeated in the error. */
export const PASTED_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
