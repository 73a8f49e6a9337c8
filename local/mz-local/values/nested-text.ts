/**
 * Text forms of values nested in arrays and records: the engine prints each element as Postgres does; these
 * rewrite the elements into Materialize's forms (numeric reduced, floats as format_float, compact jsonb) and
 * re-quote them the way Materialize prints arrays and records (src/repr/src/strconv.rs format_array,
 * format_record: an element is quoted when it is empty, is NULL spelled as text, or contains a delimiter,
 * brace/parenthesis, quote, backslash or whitespace).
 */

export type ElementRewrite = (s: string) => string;

/** Splits a record literal `(a,"b c",,"x""y")` into its fields (null for an empty unquoted field). */
export function parseRecordLiteral(s: string): (string | null)[] {
  const out: (string | null)[] = [];
  let i = 1;
  const n = s.length - 1; // the closing parenthesis
  if (n <= 1) return s === '()' ? [] : [null];
  for (;;) {
    let v = '';
    let quoted = false;
    while (i < n && s[i] !== ',') {
      if (s[i] === '"') {
        quoted = true;
        i++;
        while (i < n) {
          if (s[i] === '"' && s[i + 1] === '"') {
            v += '"';
            i += 2;
          } else if (s[i] === '"') {
            i++;
            break;
          } else if (s[i] === '\\') {
            v += s[i + 1];
            i += 2;
          } else v += s[i++];
        }
      } else if (s[i] === '\\') {
        v += s[i + 1];
        i += 2;
      } else v += s[i++];
    }
    out.push(!quoted && v === '' ? null : v);
    if (i >= n) break;
    i++; // the comma
  }
  return out;
}

function quoteRecordField(v: string): string {
  if (v === '' || /[(),"\\\s]/.test(v)) return '"' + v.replace(/["\\]/g, (c) => c + c) + '"';
  return v;
}

function quoteArrayElement(v: string): string {
  if (v === '' || /^null$/i.test(v) || /[{},"\\\s]/.test(v)) return '"' + v.replace(/["\\]/g, (c) => '\\' + c) + '"';
  return v;
}

/** Rewrites every non-NULL element of an array literal, keeping its dimensions and bounds. */
export function rewriteArrayText(s: string, rewrite: ElementRewrite): string {
  let out = '';
  let i = 0;
  if (s[0] === '[') {
    const eq = s.indexOf('=');
    out = s.slice(0, eq + 1);
    i = eq + 1;
  }
  const n = s.length;
  while (i < n) {
    const c = s[i];
    if (c === '{' || c === '}' || c === ',') {
      out += c;
      i++;
    } else if (c === '"') {
      let v = '';
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === '\\') i++;
        v += s[i++];
      }
      i++;
      out += quoteArrayElement(rewrite(v));
    } else {
      let j = i;
      while (j < n && s[j] !== ',' && s[j] !== '}') j++;
      const raw = s.slice(i, j);
      out += raw === 'NULL' ? raw : quoteArrayElement(rewrite(raw));
      i = j;
    }
  }
  return out;
}

/** Rewrites the fields of a record literal, each with its own rewrite (null: unchanged). */
export function rewriteRecordText(s: string, rewrites: (ElementRewrite | null)[]): string {
  const fields = parseRecordLiteral(s);
  return '(' + fields.map((f, k) => (f === null ? '' : quoteRecordField(rewrites[k] ? rewrites[k]!(f) : f))).join(',') + ')';
}
