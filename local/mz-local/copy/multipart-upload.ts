/**
 * One S3 object written as a multipart upload, with the semantics of Materialize's S3MultiPartUploader
 * (src/aws-util/src/s3_uploader.rs): data is buffered and uploaded in parts of `partSize` bytes; a chunk
 * that would take the file past `fileSizeLimit` is refused (unless the file is still empty), and the
 * object only becomes visible when the upload completes. Part uploads run in the background, at most
 * `maxInFlight` at a time, so memory stays bounded.
 */
import type { AuthorizedS3 } from '../aws/aws-access';

export const AWS_S3_MAX_PART_COUNT = 10_000;

export class ExceedsMaxFileSize extends Error {
  constructor(readonly limit: number) {
    super(`multi-part upload will exceed configured file_size_limit: ${limit} bytes`);
  }
}

export class MultipartUpload {
  private buffer: Buffer[] = [];
  private bufferSize = 0;
  private uploaded = 0;
  private partCount = 0;
  private readonly parts: Promise<{ ETag: string; PartNumber: number }>[] = [];
  private inFlight = 0;
  private failure: unknown = null;
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly s3: AuthorizedS3,
    readonly bucket: string,
    readonly key: string,
    private readonly uploadId: string,
    private readonly partSize: number,
    private readonly fileSizeLimit: number,
    private readonly signal: AbortSignal | undefined,
    private readonly maxInFlight: number,
  ) {}

  static async start(
    s3: AuthorizedS3,
    bucket: string,
    key: string,
    opts: { partSize: number; fileSizeLimit: number; signal?: AbortSignal; maxInFlight?: number },
  ): Promise<MultipartUpload> {
    const uploadId = await s3.createMultipartUpload(bucket, key, opts.signal);
    return new MultipartUpload(s3, bucket, key, uploadId, opts.partSize, opts.fileSizeLimit, opts.signal, opts.maxInFlight ?? 2);
  }

  /** Bytes accepted so far (uploaded or buffered). */
  addedBytes(): number {
    return this.uploaded + this.bufferSize;
  }

  /**
   * Adds `data` to the file; throws ExceedsMaxFileSize if it does not fit (a first chunk always fits,
   * up to what 10,000 parts can hold). Call `drain()` afterwards to respect the in-flight limit.
   */
  bufferChunk(data: Uint8Array): void {
    if (this.failure) throw this.failure;
    const absoluteMax = Math.min(this.partSize * AWS_S3_MAX_PART_COUNT, 5 * 1024 ** 4);
    const canForceFirst = this.addedBytes() === 0 && data.length <= absoluteMax;
    if (data.length > this.fileSizeLimit - this.addedBytes() && !canForceFirst) throw new ExceedsMaxFileSize(this.fileSizeLimit);
    this.buffer.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.bufferSize += data.length;
    while (this.bufferSize > this.partSize) {
      const all = Buffer.concat(this.buffer, this.bufferSize);
      const part = Buffer.from(all.subarray(0, this.partSize));
      const rest = all.subarray(this.partSize);
      this.buffer = rest.length ? [Buffer.from(rest)] : [];
      this.bufferSize = rest.length;
      this.uploadPart(part);
    }
  }

  /** Waits until fewer than the allowed number of part uploads are in flight. */
  async drain(): Promise<void> {
    while (this.inFlight >= this.maxInFlight) {
      await new Promise<void>((r) => this.waiters.push(r));
    }
    if (this.failure) throw this.failure;
  }

  private uploadPart(data: Buffer): void {
    const partNumber = ++this.partCount;
    if (partNumber > AWS_S3_MAX_PART_COUNT) throw new Error(`multi-part upload cannot have more than ${AWS_S3_MAX_PART_COUNT} parts`);
    this.uploaded += data.length;
    this.inFlight++;
    const p = this.s3
      .uploadPart(this.bucket, this.key, this.uploadId, partNumber, data, this.signal)
      .then((ETag) => ({ ETag, PartNumber: partNumber }))
      .catch((e) => {
        this.failure ??= e;
        throw e;
      })
      .finally(() => {
        this.inFlight--;
        this.waiters.splice(0).forEach((w) => w());
      });
    p.catch(() => undefined);
    this.parts.push(p);
  }

  /** Uploads what is buffered and completes the upload: the object becomes visible. Returns its size. */
  async finish(): Promise<number> {
    if (this.failure) throw this.failure;
    if (this.bufferSize > 0 || this.partCount === 0) {
      const last = Buffer.concat(this.buffer, this.bufferSize);
      this.buffer = [];
      this.bufferSize = 0;
      this.uploadPart(last);
    }
    const parts = await Promise.all(this.parts);
    await this.s3.completeMultipartUpload(this.bucket, this.key, this.uploadId, parts, this.signal);
    return this.uploaded;
  }
}
