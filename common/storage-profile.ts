/**
 * Naming an S3-compatible store in a workflow input: a storage profile the worker resolves from its own
 * environment (endpoint, region, access key; platform/storage-profiles.ts). Pure: only the name crosses into
 * workflows, never a value.
 */
export function storageProfileProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || !/^[a-z0-9_]{1,64}$/.test(name))
    return `${JSON.stringify(name)} is not a storage profile name; use lower-case letters, digits and '_' (the worker reads MZ_S3_EXPORT_STORAGE_<NAME>_ENDPOINT and the rest)`;
  return undefined;
}

/** Where a target's objects are: the bucket, and the storage profile when it is not AWS S3. */
export interface StorageTarget {
  bucket: string;
  /** Absent: AWS S3 with the worker's AWS identity. */
  storageProfile?: string;
}
