/**
 * SQL quoting for Materialize (PostgreSQL rules). User values never reach SQL any other way: identifiers are
 * quoted part by part, literals escaped; nothing here accepts raw SQL except `query` sources, which are
 * checked to be a single SELECT-like statement.
 */
import { InvalidInputError } from '../failures';

/** "name" with embedded double quotes doubled. Rejects NUL and empty names, which no server accepts. */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new InvalidInputError('an identifier must not be empty');
  if (name.includes('\0')) throw new InvalidInputError(`identifier ${JSON.stringify(name)} contains a NUL byte`);
  if (name.length > 255) throw new InvalidInputError(`identifier is ${name.length} characters; at most 255`);
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A possibly qualified object name as the user wrote it (`db.schema.name`, `schema.name`, `"Odd.Name"`):
 * splits on dots outside double quotes and quotes each part.
 */
export function quoteQualifiedName(name: string): string {
  return splitQualifiedName(name).map(quoteIdent).join('.');
}

export function splitQualifiedName(name: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (quoted) {
      if (ch === '"' && name[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') {
      quoted = true;
      wasQuoted = true;
    } else if (ch === '.') {
      parts.push(cur);
      cur = '';
      wasQuoted = false;
    } else if (/\s/.test(ch) && !wasQuoted) {
      throw new InvalidInputError(`object name ${JSON.stringify(name)} has white space outside double quotes`);
    } else cur += wasQuoted ? fail(name) : unquotedChar(ch, name);
  }
  if (quoted) throw new InvalidInputError(`object name ${JSON.stringify(name)} has an unclosed double quote`);
  parts.push(cur);
  if (parts.length > 3 || parts.some((p) => p.length === 0)) {
    throw new InvalidInputError(`object name ${JSON.stringify(name)} must be name, schema.name or database.schema.name`);
  }
  // The same bound quoteIdent applies, checked here so input validation rejects what SQL building would.
  const long = parts.find((p) => p.length > 255);
  if (long) throw new InvalidInputError(`object name has a part of ${long.length} characters; at most 255`);
  return parts;
}

function unquotedChar(ch: string, name: string): string {
  // Unquoted identifiers fold to lower case, as the server would fold them.
  if (!/[\p{L}\p{N}_$]/u.test(ch)) {
    throw new InvalidInputError(
      `object name ${JSON.stringify(name)} contains ${JSON.stringify(ch)}; wrap that part in double quotes if it is really part of the name`,
    );
  }
  return ch.toLowerCase();
}

function fail(name: string): never {
  throw new InvalidInputError(`object name ${JSON.stringify(name)} has characters right after a closing double quote`);
}

/** 'text' with single quotes doubled; standard_conforming_strings is on in Materialize. */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new InvalidInputError('a string value contains a NUL byte');
  return `'${value.replace(/'/g, "''")}'`;
}
