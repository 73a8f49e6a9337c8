/**
 * CSV rows the way Materialize encodes them (src/pgcopy/src/copy.rs, encode_copy_row_csv): values in
 * their text form; NULL as the NULL string (empty by default) unquoted; a value is quoted when it contains
 * the delimiter, the quote character, CR or LF, when it equals the NULL string, or when it is `\.` alone in
 * a single-column row; inside quotes the quote and escape characters are preceded by the escape character.
 * Every row ends with LF. Values whose text Materialize prints differently from the engine (jsonb, numeric,
 * floats: ../values/mz-text.ts) are rewritten first.
 */
import type { ValueRewrite } from '../values/mz-text';
import type { CsvParams } from './copy-options';

const END_OF_COPY_MARKER = Buffer.from('\\.');

export class CsvEncoder {
  private readonly nullBytes: Buffer;

  constructor(
    private readonly p: CsvParams,
    /** Per column: the rewrite from the engine's text to Materialize's, if they differ. */
    private readonly rewrites: (ValueRewrite | null)[],
  ) {
    this.nullBytes = Buffer.from(p.null, 'utf8');
  }

  /** Encodes one row; `values` are the engine's text values (null for NULL). */
  encodeRow(values: (Buffer | null)[]): Buffer {
    const parts: Buffer[] = [];
    const single = values.length === 1;
    for (let i = 0; i < values.length; i++) {
      if (i > 0) parts.push(Buffer.from([this.p.delimiter]));
      let v = values[i];
      if (v === null) {
        parts.push(this.nullBytes);
        continue;
      }
      const rewrite = this.rewrites[i];
      if (rewrite) v = rewrite(v);
      parts.push(this.field(v, single));
    }
    parts.push(Buffer.from('\n'));
    return Buffer.concat(parts);
  }

  /** The header row: column names encoded like values. */
  encodeHeader(names: string[]): Buffer {
    const parts: Buffer[] = [];
    names.forEach((n, i) => {
      if (i > 0) parts.push(Buffer.from([this.p.delimiter]));
      parts.push(this.field(Buffer.from(n, 'utf8'), names.length === 1));
    });
    parts.push(Buffer.from('\n'));
    return Buffer.concat(parts);
  }

  private field(v: Buffer, single: boolean): Buffer {
    const { delimiter, quote, escape } = this.p;
    let special = (single && v.equals(END_OF_COPY_MARKER)) || v.equals(this.nullBytes);
    if (!special) {
      for (let k = 0; k < v.length; k++) {
        const c = v[k];
        if (c === delimiter || c === quote || c === 0x0d || c === 0x0a) {
          special = true;
          break;
        }
      }
    }
    if (!special) return v;
    const out: number[] = [quote];
    for (let k = 0; k < v.length; k++) {
      const c = v[k];
      if (c === quote || c === escape) out.push(escape);
      out.push(c);
    }
    out.push(quote);
    return Buffer.from(out);
  }
}
