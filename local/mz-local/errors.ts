/**
 * Errors that mz-local reports to clients as a Postgres ErrorResponse, with the SQLSTATE, DETAIL and HINT
 * Materialize would send.
 */

/** SQLSTATE codes used by mz-local. */
export const SqlState = {
  /** Materialize reports COPY TO and connection validation failures as system_error. */
  SystemError: '58000',
  QueryCanceled: '57014',
  SyntaxError: '42601',
  UndefinedObject: '42704',
  DuplicateObject: '42710',
  InvalidParameterValue: '22023',
  DataException: '22000',
  DependentObjectsStillExist: '2BP01',
  FeatureNotSupported: '0A000',
  ActiveSqlTransaction: '25001',
  UndefinedParameter: '42704',
  InternalError: 'XX000',
  InvalidPassword: '28P01',
  ProtocolViolation: '08P01',
  AdminShutdown: '57P01',
} as const;

export interface ErrorFields {
  severity?: 'ERROR' | 'FATAL' | 'NOTICE' | 'WARNING';
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

export class MzError extends Error {
  readonly code: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly severity: 'ERROR' | 'FATAL';

  constructor(code: string, message: string, extra: { detail?: string; hint?: string; fatal?: boolean } = {}) {
    super(message);
    this.name = 'MzError';
    this.code = code;
    this.detail = extra.detail;
    this.hint = extra.hint;
    this.severity = extra.fatal ? 'FATAL' : 'ERROR';
  }

  toFields(): ErrorFields {
    return { severity: this.severity, code: this.code, message: this.message, detail: this.detail, hint: this.hint };
  }
}

/** The error a cancelled statement reports (Postgres and Materialize wording). */
export function canceledError(): MzError {
  return new MzError(SqlState.QueryCanceled, 'canceling statement due to user request');
}

/** Wraps anything thrown into an MzError; unknown errors become system errors with their message. */
export function toMzError(e: unknown, fallbackCode: string = SqlState.SystemError): MzError {
  const named = unknownNameError(e as { code?: unknown; message?: unknown });
  if (named) return named;
  if (e instanceof MzError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new MzError(fallbackCode, message);
}

/**
 * The engine's name-resolution errors in Materialize's words: a missing relation is `unknown catalog item
 * '<name as written>'` and a missing schema `unknown schema '<name>'` (src/sql/src/names.rs, via
 * PlanError/CatalogError::UnknownItem), whichever statement (SELECT AS OF, EXPLAIN TIMESTAMP, COPY) resolved it.
 */
export function unknownNameError(e: { code?: unknown; message?: unknown }): MzError | undefined {
  const message = typeof e.message === 'string' ? e.message : '';
  const relation = /relation "(.*)" does not exist/.exec(message);
  if (e.code === '42P01' && relation) return new MzError(SqlState.UndefinedObject, `unknown catalog item '${relation[1]}'`);
  const schema = /^schema "(.*)" does not exist/.exec(message);
  if (e.code === '3F000' && schema) return new MzError(SqlState.UndefinedObject, `unknown schema '${schema[1]}'`);
  return undefined;
}
