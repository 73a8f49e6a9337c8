/**
 * The WITH options of COPY ... TO <expr>, extracted and validated like Materialize's planner
 * (src/sql/src/plan/statement/dml.rs: plan_copy, plan_copy_to_expr; src/pgcopy: CopyCsvFormatParams).
 */
import { MzError, SqlState } from '../errors';
import { invalidOption, optionBool, optionString, optionText, type ObjectName, type OptionValue } from '../sql/token-stream';
import { DEFAULT_MAX_FILE_SIZE, formatByteSize, MAX_FILE_SIZE, MIN_FILE_SIZE, parseByteSize } from './byte-size';

export interface CsvParams {
  delimiter: number;
  quote: number;
  escape: number;
  header: boolean;
  null: string;
}

export type CopyFormat = { kind: 'csv'; params: CsvParams } | { kind: 'parquet' } | { kind: 'text' } | { kind: 'binary' };

export interface ExtractedCopyOptions {
  formatText?: string;
  format?: 'text' | 'csv' | 'binary' | 'parquet';
  delimiter?: string;
  null?: string;
  escape?: string;
  quote?: string;
  header?: boolean;
  awsConnection?: ObjectName;
  maxFileSize: number;
}

const err = (message: string) => new MzError(SqlState.SystemError, message);

/** The text options and where they go. */
const TEXT_OPTIONS = { FORMAT: 'formatText', DELIMITER: 'delimiter', NULL: 'null', ESCAPE: 'escape', QUOTE: 'quote' } as const;

/**
 * Extracts options like Materialize's CopyOptionExtracted: in order, each option once (`<OPTION> specified
 * more than once`), each value converted to its type (`invalid <OPTION>: ...`); then FORMAT is parsed.
 */
export function extractCopyOptions(options: { name: string; value: OptionValue }[]): ExtractedCopyOptions {
  const seen = new Set<string>();
  const out: ExtractedCopyOptions = { maxFileSize: DEFAULT_MAX_FILE_SIZE };
  for (const { name, value } of options) {
    if (seen.has(name)) throw err(`COPY option ${name} specified more than once`);
    seen.add(name);
    if (name in TEXT_OPTIONS) {
      out[TEXT_OPTIONS[name as keyof typeof TEXT_OPTIONS]] = optionString(value, name);
      continue;
    }
    switch (name) {
      case 'HEADER':
        out.header = optionBool(value, 'HEADER');
        break;
      case 'AWS CONNECTION':
        if (value.kind === 'object') out.awsConnection = value.name;
        else if (value.kind === 'ident') out.awsConnection = { parts: [value.value] };
        else throw err('invalid AWS CONNECTION: expected a connection name');
        break;
      case 'MAX FILE SIZE': {
        if (value.kind === 'bool') throw invalidOption('MAX FILE SIZE', 'cannot use value as bytes');
        const text = optionText(value, 'MAX FILE SIZE');
        try {
          out.maxFileSize = parseByteSize(text);
        } catch (e) {
          // with_options.rs TryFromValue<Value> for ByteSize: `invalid bytes value: <ByteSize::from_str error>`
          throw err(`invalid MAX FILE SIZE: invalid bytes value: ${(e as Error).message}`);
        }
        break;
      }
      case 'FILES':
      case 'PATTERN':
        // options of COPY FROM: Materialize's COPY TO accepts and ignores them
        break;
      default:
        throw err(`unknown COPY option ${name}`);
    }
  }
  // Materialize parses FORMAT after extracting all options (plan_copy)
  if (out.formatText !== undefined) {
    const f = out.formatText.toLowerCase();
    if (f !== 'text' && f !== 'csv' && f !== 'binary' && f !== 'parquet') throw err(`unknown FORMAT: ${out.formatText}`);
    out.format = f;
  }
  return out;
}

function singleByte(v: string | undefined, param: string): number | undefined {
  if (v === undefined) return undefined;
  const bytes = Buffer.from(v, 'utf8');
  if (bytes.length !== 1) throw err(`COPY ${param} must be a single one-byte character`);
  return bytes[0];
}

/** CSV parameters with Materialize's defaults (comma, double quote, escape = quote, NULL as empty). */
export function csvParams(o: ExtractedCopyOptions): CsvParams {
  const quote = singleByte(o.quote, 'quote');
  const escape = singleByte(o.escape, 'escape');
  const delimiter = singleByte(o.delimiter, 'delimiter');
  const p: CsvParams = { delimiter: 0x2c, quote: 0x22, escape: 0x22, header: false, null: '' };
  if (delimiter !== undefined) p.delimiter = delimiter;
  if (quote !== undefined) {
    p.quote = quote;
    p.escape = quote;
  }
  if (escape !== undefined) p.escape = escape;
  if (o.header !== undefined) p.header = o.header;
  if (o.null !== undefined) p.null = o.null;
  if (p.quote === p.delimiter) throw err('COPY delimiter and quote must be different');
  return p;
}

/** MAX FILE SIZE bounds (16MB to 4GB). */
export function checkMaxFileSize(bytes: number): void {
  if (bytes < MIN_FILE_SIZE) throw err(`MAX FILE SIZE cannot be less than ${formatByteSize(MIN_FILE_SIZE)}`);
  if (bytes > MAX_FILE_SIZE) throw err(`MAX FILE SIZE cannot be greater than ${formatByteSize(MAX_FILE_SIZE)}`);
}
