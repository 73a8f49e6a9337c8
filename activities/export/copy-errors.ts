/**
 * What a failed COPY means for the export, decided from the server's SQLSTATE and message (Materialize uses
 * 58000 for most COPY TO validation failures, so the message decides) or from the client's socket error.
 * Pure: the activity classifies, the workflow acts on the type through the failure catalog (common/failures.ts).
 */
import type { FailureType } from '../../common/failures';
import type { CopyErrorContext } from '../../common/export/activities';
import { isTransientErrno, pgErrorText, soundsLikeLostConnection } from '../pg-errors';

export interface CopyErrorFacts {
  /** SQLSTATE when the server answered. */
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
  /** Node's socket error code (ECONNRESET, ...) when the connection failed. */
  errno?: string;
}

export interface ClassifiedCopyError {
  type: Extract<FailureType, 'UserFixableError' | 'CopyPathNotEmptyError' | 'CopyTransientError' | 'CopyFailedError' | 'TimestampNotReadableError'>;
  /** The server's words plus what to change, for the CLI and the Web UI. */
  message: string;
}

const USER_FIXABLE: { test: RegExp; advice: (c: CopyErrorContext) => string }[] = [
  {
    test: /unknown catalog item|does not exist|unknown schema|unknown database/i,
    advice: (c) => `check that ${c.source} exists and is spelled as in Materialize (qualify it as schema.name if it is not on the search path); for a connection, that ${c.connectionName} was created by onboarding`,
  },
  {
    test: /cannot encode the following columns/i,
    advice: () => 'cast those columns in a query (for example interval_col::text) or export as csv',
  },
  {
    test: /ORDER BY is not supported/i,
    advice: () => 'remove the ORDER BY; sort when you read the files',
  },
  {
    test: /access ?denied|not authorized to perform: s3|status code: 403|\b403 Forbidden/i,
    advice: (c) => `the IAM role behind connection ${c.connectionName} may not write to ${c.targetUri}; export under the bucket and prefix its policy allows (s3:PutObject, s3:DeleteObject on <prefix>/* and s3:ListBucket), or extend the policy`,
  },
  {
    test: /NoSuchBucket|bucket does not exist|specified bucket does not exist/i,
    advice: () => 'create the bucket or export to an existing one',
  },
  {
    test: /out of range for column with precision|cannot represent decimal value|Cannot represent special numeric value/i,
    advice: () => 'cast the numeric column in a query to a type that fits (for example numeric(38,10) or text), or export as csv',
  },
  {
    test: /not yet supported|is not supported|requires a FORMAT|AWS CONNECTION is required|MAX FILE SIZE|only 's3:\/\/\.\.\.' urls/i,
    advice: () => 'change the export options as the message says',
  },
  {
    test: /is not an AWS CONNECTION|wrong type|not an aws connection/i,
    advice: (c) => `${c.connectionName} must be a connection created with CREATE CONNECTION ... TO AWS`,
  },
  {
    test: /permission denied|must be owner|privilege/i,
    advice: () => 'grant the Materialize role in MZ_URL the SELECT and USAGE privileges it needs',
  },
];

export function classifyCopyError(e: CopyErrorFacts, ctx: CopyErrorContext): ClassifiedCopyError {
  const words = pgErrorText(e);
  if (/bucket path is not empty/i.test(e.message)) {
    return { type: 'CopyPathNotEmptyError', message: `${ctx.targetUri} already holds objects: ${e.message}` };
  }
  // A read below its inputs' since (Materialize's two wordings, timestamp_selection.rs): another timestamp reads fine.
  if (/could not find a valid timestamp|is not valid for all inputs/i.test(words)) {
    return { type: 'TimestampNotReadableError', message: `the AS OF timestamp is no longer readable: ${words}` };
  }
  // Materialize could not assume the connection's role: right after a trust-policy change that is IAM still
  // propagating, so another attempt may pass; the S3 advice below would mislead.
  if (/sts:AssumeRole|AssumeRole/i.test(words)) {
    return {
      type: 'CopyFailedError',
      message: `Materialize could not assume the role of connection ${ctx.connectionName}: ${words}. If its trust policy just changed, IAM may still be propagating; otherwise run onboarding again (it rewrites the trust policy) and check VALIDATE CONNECTION ${ctx.connectionName}.`,
    };
  }
  for (const rule of USER_FIXABLE) {
    if (rule.test.test(words)) return { type: 'UserFixableError', message: `${words}. To fix: ${rule.advice(ctx)}.` };
  }
  const code = e.code ?? '';
  if (isTransientErrno(e.errno) || soundsLikeLostConnection(words) || /^(08|57P|53)/.test(code)) {
    return { type: 'CopyTransientError', message: `lost the COPY's connection to Materialize: ${words}` };
  }
  if (/^(28|3D)/.test(code)) {
    return { type: 'UserFixableError', message: `${words}. To fix: check the user, password and database in the worker's MZ_URL (or MZ_URL_<PROFILE>).` };
  }
  // Syntax, undefined objects and privileges (class 42), unsupported features (0A) and data errors (22)
  // do not change by retrying.
  if (/^(42|0A|22)/.test(code)) {
    return { type: 'UserFixableError', message: `${words}. To fix: change the export's source or options as the message says.` };
  }
  return { type: 'CopyFailedError', message: `the COPY failed: ${words}${code ? ` (SQLSTATE ${code})` : ''}` };
}
