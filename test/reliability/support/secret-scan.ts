/**
 * Looks for secret strings anywhere in what Temporal stores or shows: histories (every payload decoded, every
 * failure message and stack), descriptions (memo, search attributes, pending activities' heartbeat details),
 * query answers, results, and log files.
 */
import * as fs from 'node:fs';

export interface SecretHit {
  secret: string;
  where: string;
  context: string;
}

/** Every string in a value, with Uint8Array (payload data, metadata) decoded as UTF-8, and its path. */
export function* stringsOf(value: unknown, at = '$', seen = new Set<unknown>()): Generator<[string, string]> {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') {
    yield [at, value];
    return;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return;
  if (value instanceof Uint8Array) {
    yield [at, Buffer.from(value).toString('utf8')];
    return;
  }
  if (typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Map) {
    for (const [k, v] of value) yield* stringsOf(v, `${at}[${String(k)}]`, seen);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* stringsOf(value[i], `${at}[${i}]`, seen);
    return;
  }
  if (value instanceof Error) {
    yield [`${at}.message`, value.message];
    if (value.stack) yield [`${at}.stack`, value.stack];
    if ((value as { cause?: unknown }).cause) yield* stringsOf((value as { cause?: unknown }).cause, `${at}.cause`, seen);
  }
  for (const [k, v] of Object.entries(value)) {
    yield [`${at}.<key>`, k];
    yield* stringsOf(v, `${at}.${k}`, seen);
  }
}

/** Secrets found in value; each secret is also looked for in its base64 and URL-encoded forms. */
export function findSecrets(value: unknown, secrets: Record<string, string>, label: string): SecretHit[] {
  const hits: SecretHit[] = [];
  const forms = Object.entries(secrets).flatMap(([name, s]) => [
    [name, s],
    [`${name} (base64)`, Buffer.from(s).toString('base64')],
    [`${name} (url-encoded)`, encodeURIComponent(s)],
  ]);
  for (const [at, text] of stringsOf(value)) {
    for (const [name, form] of forms) {
      const i = text.indexOf(form);
      if (i >= 0) hits.push({ secret: name, where: `${label} ${at}`, context: text.slice(Math.max(0, i - 60), i + form.length + 20) });
    }
  }
  return hits;
}

export function findSecretsInFile(file: string, secrets: Record<string, string>, fromOffset = 0): SecretHit[] {
  const text = fs.readFileSync(file, 'utf8').slice(fromOffset);
  return findSecrets(text.split('\n'), secrets, file);
}
