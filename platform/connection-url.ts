/**
 * Materialize connection URLs (MZ_URL, MZ_URL_<PROFILE>) hold secrets in more than one spelling: the userinfo
 * (`postgres://user:secret@host`), query parameters that pg reads as connection settings (`?password=secret`,
 * `sslpassword`, `sslkey`, ...), and a password with an unencoded `/` or `@` that makes the URL parse as
 * something else entirely. The rule: a URL is never shown whole. Logs, errors and activity results show at
 * most host, port and database (describeConnectionUrl); redactUrl exists for the rare message that must show
 * a URL, and masks every query value that is not on a short list of harmless settings.
 */
import type { ConnectionTarget } from '../common/activities';

export type { ConnectionTarget };

/** Query parameters whose values are shown; every other value is masked. */
const HARMLESS_PARAMS = new Set(['sslmode', 'application_name', 'connect_timeout', 'sslnegotiation', 'target_session_attrs']);

const MASK = '***';

/**
 * Why `value` is not a usable connection URL, or undefined. The message never repeats the URL: a password
 * may be what made it invalid.
 */
export function connectionUrlProblem(value: string, protocols: string[]): string | undefined {
  const expected = protocols[0].startsWith('postgres') ? `${protocols[0]}//user:password@host:port/database` : `${protocols[0]}//host:port`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a URL; expected ${expected} (percent-encode '/', '@', ':', '?' and '#' in the user name and password)`;
  }
  if (!protocols.includes(url.protocol)) return `must start with ${protocols.map((p) => p + '//').join(' or ')}`;
  // An '@' after the host means a password held an unencoded '/', '?' or '#', which ended the authority early:
  // the URL would then connect somewhere else and show part of the password as a path or parameter.
  if (hasAtAfterAuthority(value))
    return `has an '@' after the host, so part of the user name or password was read as the path; percent-encode '/' as %2F, '?' as %3F, '#' as %23 and '@' as %40 in them`;
  if (!url.hostname && !url.searchParams.get('host')) return `names no host; expected ${expected}`;
  return undefined;
}

/**
 * Host, port and database as pg reads them (pg-connection-string: query parameters `host` and `port` win over
 * the authority); never the user name, password or other parameters. An unparsable URL describes as unknown.
 */
export function describeConnectionUrl(value: string): ConnectionTarget {
  let url: URL;
  try {
    url = new URL(value);
    if (hasAtAfterAuthority(value)) throw new Error('ambiguous');
  } catch {
    return { host: '(invalid URL)', port: '', database: '' };
  }
  const param = (name: string) => url.searchParams.get(name) ?? undefined;
  const host = param('host') ?? decodeURIComponent(url.hostname.replace(/^\[(.+)\]$/, '$1'));
  const port = param('port') ?? url.port;
  const database = safeDecode(url.pathname.slice(1));
  return { host, port, database };
}

/**
 * The values in a connection URL that must never be shown: the password (as written in the URL), every query
 * value but the harmless settings.
 */
export function describeSensitiveUrlValues(value: string): string[] {
  let url: URL;
  try {
    url = new URL(value);
    if (hasAtAfterAuthority(value)) throw new Error('ambiguous');
  } catch {
    return []; // the worker refuses such a URL at start (connectionUrlProblem)
  }
  const values = [url.password];
  for (const [k, v] of url.searchParams) if (!HARMLESS_PARAMS.has(k)) values.push(v);
  return values.filter(Boolean);
}

/** "host:port/database", the one-line form of describeConnectionUrl. */
export function connectionLabel(value: string): string {
  const t = describeConnectionUrl(value);
  return `${t.host}${t.port ? `:${t.port}` : ''}/${t.database}`;
}

/** The URL with its password and every query value but a few harmless settings masked; no fragment. */
export function redactUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
    if (hasAtAfterAuthority(value)) throw new Error('ambiguous');
  } catch {
    // Unparsable or misread: nothing after the scheme can be told apart from a password.
    const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(value)?.[0] ?? '';
    return `${scheme}${MASK}`;
  }
  if (url.password) url.password = MASK;
  const params = [...url.searchParams.entries()].map(([k, v]) => [k, HARMLESS_PARAMS.has(k) ? v : MASK]);
  url.search = params.length ? `?${params.map(([k, v]) => `${encodeURIComponent(k)}=${v === MASK ? MASK : encodeURIComponent(v)}`).join('&')}` : '';
  url.hash = '';
  return url.toString();
}

/** Every postgres:// or postgresql:// URL inside `text` redacted (for free text such as error messages). */
export function redactUrlsIn(text: string): string {
  return text.replace(/postgres(?:ql)?:\/\/[^\s'"<>`]*/gi, (u) => redactUrl(u));
}

/** True when an '@' follows the end of the authority: a user name or password held an unencoded / ? or #. */
function hasAtAfterAuthority(value: string): boolean {
  const afterScheme = value.slice(value.indexOf('//') + 2);
  const authorityEnd = afterScheme.search(/[/?#]/);
  return authorityEnd >= 0 && afterScheme.slice(authorityEnd).includes('@');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
