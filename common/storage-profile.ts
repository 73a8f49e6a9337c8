/**
 * Naming an S3-compatible store in a workflow input: a storage profile the worker resolves from its own
 * environment (endpoint, region, access key; platform/storage-profiles.ts). Pure: only the name crosses into
 * workflows, never a value.
 */
export function storageProfileProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || !/^[a-z0-9_]{1,64}$/.test(name))
    return `${shownName(name)} is not a storage profile name; use lower-case letters, digits and '_' (the worker reads MZ_S3_EXPORT_STORAGE_<NAME>_ENDPOINT and the rest)`;
  return undefined;
}

/**
 * The rejected value as the message shows it: a short name-like string as it is (a typo is easiest to see), anything
 * else only by its kind and length, since a key or secret pasted into the field must not reach history or logs.
 */
function shownName(name: unknown): string {
  if (typeof name !== 'string') return name === null ? 'null' : `a ${Array.isArray(name) ? 'list' : typeof name}`;
  if (name.length <= 32 && /^[\w .!-]*$/.test(name) && !/(AKIA|ASIA)[A-Z0-9]{16}/.test(name)) return JSON.stringify(name);
  return `a text of ${name.length} characters`;
}

/** Where a target's objects are: the bucket, and the storage profile when it is not AWS S3. */
export interface StorageTarget {
  bucket: string;
  /** Absent: AWS S3 with the worker's AWS identity. */
  storageProfile?: string;
}

/** The StorageTarget of anything naming a bucket and maybe a profile; without one, no storageProfile field at all. */
export function storageTargetOf(t: StorageTarget): StorageTarget {
  return { bucket: t.bucket, ...(t.storageProfile !== undefined ? { storageProfile: t.storageProfile } : {}) };
}
