/**
 * Object keys of a COPY ... TO S3, as Materialize's S3KeyManager builds them
 * (src/storage-types/src/sinks/s3_oneshot_sink.rs): with <path> the URI's path without surrounding
 * slashes and <id> the sink id, the sentinel is <path>/mz-<id>-INCOMPLETE and data files are
 * <path>/mz-<id>-batch-<batch:04>-<file:04>.<ext>. The emptiness check lists <path> as a bare prefix.
 */

export class S3KeyManager {
  readonly bucket: string;
  readonly path: string;
  readonly objectKeyPrefix: string;

  constructor(sinkId: string, bucket: string, uriPath: string) {
    this.bucket = bucket;
    this.path = uriPath.replace(/^\/+/, '').replace(/\/+$/, '');
    this.objectKeyPrefix = `${this.path}/mz-${sinkId}-`;
  }

  dataKey(batch: number, fileIndex: number, extension: string): string {
    return `${this.objectKeyPrefix}batch-${pad4(batch)}-${pad4(fileIndex)}.${extension}`;
  }

  incompleteSentinelKey(): string {
    return `${this.objectKeyPrefix}INCOMPLETE`;
  }

  /** The prefix listed by the emptiness check (no trailing slash). */
  pathPrefix(): string {
    return this.path;
  }
}

function pad4(n: number): string {
  return String(n).padStart(4, '0');
}
