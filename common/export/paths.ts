/**
 * Where an export writes, as pure functions (workflows import this):
 *
 *   <prefix>/<exportName>/<logical time>/attempt-NNN/            one COPY attempt (Materialize's target path)
 *   <prefix>/<exportName>/<logical time>/attempt-NNN/manifest.json  written after verification
 *   <prefix>/<exportName>/<logical time>/attempt-NNN/_SUCCESS       the commit point, written last
 *   <prefix>/<exportName>/<logical time>/_claims/attempt-NNN.json  who owns attempt folder NNN (created once)
 *   <prefix>/<exportName>/<logical time>/_claims/publication.json  which attempt is published (created once)
 *   <prefix>/<exportName>/_latest.json                            pointer to the newest published manifest
 *
 * The logical time is ISO 8601 basic format in UTC with milliseconds (20240501T120000.000Z): fixed width, so
 * folders sort by time, and free of ':' which Hadoop-style readers reject. The attempt is fixed width
 * (attempt-001 .. attempt-999), because Materialize checks that a COPY target is empty by listing it as a bare
 * key prefix: a variable-width attempt-1 would look "not empty" once attempt-10 exists.
 */
import { normalizePrefix } from '../aws-names';
import { parseLogicalTime } from './logical-time';

export const MAX_ATTEMPT_NUMBER = 999;
export const MANIFEST_FILE = 'manifest.json';
export const SUCCESS_FILE = '_SUCCESS';
export const LATEST_FILE = '_latest.json';
/**
 * Claims live beside the attempt folders, never inside one, and their names are never a key prefix of an attempt
 * path: Materialize's emptiness check of `<logical time>/attempt-NNN` must not see them. The leading '_' makes
 * Hadoop-style readers skip the folder.
 */
export const CLAIMS_FOLDER = '_claims';

/**
 * 2024-05-01T12:00:00Z -> 20240501T120000.000Z. Throws on anything that is not an exact instant: a string is
 * read strictly (parseLogicalTime), never rolled over or truncated into another folder.
 */
export function renderLogicalTime(iso: string | Date): string {
  const parsed = typeof iso === 'string' ? parseLogicalTime(iso) : { ms: iso.getTime() };
  if ('problem' in parsed) throw new Error(parsed.problem);
  const d = new Date(parsed.ms);
  if (Number.isNaN(d.getTime())) throw new Error(`${JSON.stringify(String(iso))} is not a valid time`);
  const y = d.getUTCFullYear();
  if (y < 1000 || y > 9999) throw new Error(`${d.toISOString()} is outside the years 1000 to 9999`);
  return d.toISOString().replace(/[-:]/g, '');
}

/** The inverse of renderLogicalTime: 20240501T120000.000Z -> 2024-05-01T12:00:00.000Z, or undefined. */
export function parseLogicalTimeFolder(folder: string): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z$/.exec(folder);
  if (!m) return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`;
  const d = new Date(iso);
  return !Number.isNaN(d.getTime()) && d.toISOString() === iso ? iso : undefined;
}

export function attemptFolder(attempt: number): string {
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > MAX_ATTEMPT_NUMBER)
    throw new Error(`attempt ${attempt} is outside 1 to ${MAX_ATTEMPT_NUMBER}`);
  return `attempt-${String(attempt).padStart(3, '0')}`;
}

export function parseAttemptFolder(folder: string): number | undefined {
  const m = /^attempt-(\d{3})$/.exec(folder);
  const n = m ? Number(m[1]) : NaN;
  return n >= 1 ? n : undefined;
}

export interface ExportLocation {
  bucket: string;
  prefix: string;
  exportName: string;
}

/** <prefix>/<exportName> (no trailing slash). */
export function exportRootKey(loc: ExportLocation): string {
  return `${normalizePrefix(loc.prefix)}/${loc.exportName}`;
}

/** <prefix>/<exportName>/<logical time> (no trailing slash). */
export function logicalTimeKey(loc: ExportLocation, logicalTime: string): string {
  return `${exportRootKey(loc)}/${renderLogicalTime(logicalTime)}`;
}

/** <prefix>/<exportName>/<logical time>/attempt-NNN (no trailing slash: the form Materialize is given). */
export function attemptKey(loc: ExportLocation, logicalTime: string, attempt: number): string {
  return `${logicalTimeKey(loc, logicalTime)}/${attemptFolder(attempt)}`;
}

export function latestKey(loc: ExportLocation): string {
  return `${exportRootKey(loc)}/${LATEST_FILE}`;
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** <logical time key>/_claims/attempt-NNN.json: the claim that makes attempt folder NNN one run's own. */
export function attemptClaimKey(logicalTimeKey: string, attempt: number): string {
  return `${logicalTimeKey}/${CLAIMS_FOLDER}/${attemptFolder(attempt)}.json`;
}

/** <logical time key>/_claims/publication.json: names the one attempt published for this logical time. */
export function publicationClaimKey(logicalTimeKey: string): string {
  return `${logicalTimeKey}/${CLAIMS_FOLDER}/publication.json`;
}

/** The attempt number of a claim key under `<logical time key>/_claims/`, or undefined. */
export function parseAttemptClaimName(name: string): number | undefined {
  const m = /^(attempt-\d{3})\.json$/.exec(name);
  return m ? parseAttemptFolder(m[1]) : undefined;
}
