/**
 * The COPY ... TO 's3://...' statement, built so that no user text can leave its position: the object and
 * connection names are quoted identifiers, the target is one escaped literal of checked characters, the
 * options come from a fixed set, and a query source is read with Materialize's own lexer rules
 * (../sql/lexer.ts, ../sql/query-source.ts) and proven to be one balanced SELECT-like statement. The built
 * statement is lexed once more and must read exactly as built, or nothing is sent. Pure: workflows and
 * activities both use it.
 */
import { bucketNameProblem } from '../aws-names';
import { InvalidInputError } from '../failures';
import { formatByteSize, parseByteSize } from '../sql/byte-size';
import { lex, type Token } from '../sql/lexer';
import { normalizeQuery, queryProblem } from '../sql/query-source';
import { quoteIdent, quoteLiteral, splitQualifiedName } from '../sql/quoting';
import type { ExportFormat } from './types';

export { MAX_QUERY_CHARS, normalizeQuery, queryProblem } from '../sql/query-source';

export interface CopyStatementSpec {
  object?: string;
  query?: string;
  /** s3://bucket/key-without-trailing-slash */
  targetUri: string;
  connectionName: string;
  format: ExportFormat;
  /** Normalized, e.g. '256MB' (see parseMaxFileSize). */
  maxFileSize?: string;
  csvHeader?: boolean;
}

const FORMATS: readonly ExportFormat[] = ['csv', 'parquet'];

/** An S3 URI of a bucket and a key whose segments use only S3's safe characters (the prefix grammar's). */
export function copyTargetProblem(uri: string): string | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) return `${JSON.stringify(uri)} is not s3://<bucket>/<key>`;
  const bucket = bucketNameProblem(m[1]);
  if (bucket) return `bucket ${bucket}`;
  for (const segment of m[2].split('/')) {
    if (!/^[A-Za-z0-9!_.'()=-]+$/.test(segment) || segment === '.' || segment === '..')
      return `${JSON.stringify(uri)} has the key segment ${JSON.stringify(segment)}; segments use letters, digits and ! _ . ' ( ) = - only`;
  }
  return undefined;
}

export function buildCopySql(spec: CopyStatementSpec): string {
  if ((spec.object === undefined) === (spec.query === undefined)) throw new Error('exactly one of object and query');
  const fail = (field: string, problem: string): never => {
    throw new InvalidInputError(problem, field);
  };
  if (spec.query !== undefined) {
    const problem = queryProblem(spec.query);
    if (problem) fail('query', problem);
  }
  const target = copyTargetProblem(spec.targetUri);
  if (target) fail('target', target);
  if (!FORMATS.includes(spec.format)) fail('format', `${JSON.stringify(spec.format)} is not one of ${FORMATS.join(', ')}`);
  let maxFileSize: string | undefined;
  if (spec.maxFileSize !== undefined) {
    const parsed = parseMaxFileSize(spec.maxFileSize);
    maxFileSize = 'problem' in parsed ? fail('maxFileSize', parsed.problem) : parsed.literal;
  }
  const header = spec.format === 'csv' && spec.csvHeader === true;
  const objectParts = spec.object !== undefined ? splitQualifiedName(spec.object) : undefined;
  const connectionParts = splitQualifiedName(spec.connectionName);
  const query = spec.query !== undefined ? normalizeQuery(spec.query) : undefined;

  // The query sits on its own lines so that a trailing "-- comment" in it ends before the closing parenthesis.
  const source = objectParts ? objectParts.map(quoteIdent).join('.') : `(\n${query}\n)`;
  const options = [`AWS CONNECTION = ${connectionParts.map(quoteIdent).join('.')}`, `FORMAT = ${quoteLiteral(spec.format)}`];
  if (maxFileSize !== undefined) options.push(`MAX FILE SIZE = ${quoteLiteral(maxFileSize)}`);
  if (header) options.push('HEADER = true');
  const sql = `COPY ${source} TO ${quoteLiteral(spec.targetUri)}\nWITH (${options.join(', ')})`;

  // What Materialize must read, token by token, written out from the checked parts rather than from the text.
  const idents = (parts: string[]) => parts.flatMap((p, k) => [...(k ? ['dot:.'] : []), `ident:${p}`]);
  const expected = [
    'word:copy',
    ...(objectParts ? idents(objectParts) : ['lparen:(', ...lex(query!).map(tokenText), 'rparen:)']),
    'word:to', `string:${spec.targetUri}`, 'word:with', 'lparen:(',
    'word:aws', 'word:connection', 'eq:=', ...idents(connectionParts),
    'comma:,', 'word:format', 'eq:=', `string:${spec.format}`,
    ...(maxFileSize !== undefined ? ['comma:,', 'word:max', 'word:file', 'word:size', 'eq:=', `string:${maxFileSize}`] : []),
    ...(header ? ['comma:,', 'word:header', 'eq:=', 'word:true'] : []),
    'rparen:)',
  ];
  const read = lex(sql).map(tokenText);
  if (read.length !== expected.length || read.some((t, k) => t !== expected[k]))
    throw new InvalidInputError('the COPY statement would not read as built; nothing was sent', 'query');
  return sql;
}

const tokenText = (t: Token) => `${t.kind}:${t.value}`;

/** Materialize's MIN_S3_SINK_FILE_SIZE and MAX_S3_SINK_FILE_SIZE (src/storage-types/src/sinks.rs). */
export const MIN_FILE_SIZE = 16 * 1024 ** 2;
export const MAX_FILE_SIZE = 4 * 1024 ** 3;

/** '256MB', '1.5GB', '16777216' -> { bytes, literal } in Materialize's own rendering; case-sensitive units. */
export function parseMaxFileSize(value: unknown): { bytes: number; literal: string } | { problem: string } {
  const parsed = parseByteSize(value);
  if ('problem' in parsed) return parsed;
  if (parsed.bytes < MIN_FILE_SIZE || parsed.bytes > MAX_FILE_SIZE)
    return { problem: `"${value}" is outside Materialize's range for MAX FILE SIZE, 16MB to 4GB` };
  return { bytes: parsed.bytes, literal: formatByteSize(parsed.bytes) };
}
