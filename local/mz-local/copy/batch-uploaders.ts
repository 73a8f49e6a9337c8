/**
 * Per-batch uploaders: each of the COPY's output batches writes its own sequence of files.
 *
 * CSV (Materialize's PgCopyUploader): file numbers start at 0001; a row that would take a file past MAX FILE
 * SIZE starts the next file, so a CSV file never exceeds it; with HEADER each file starts with the header.
 *
 * Parquet (Materialize's ParquetUploader): file numbers start at 0000; rows go through Arrow builders into
 * the Rust Parquet writer (parquet-wasm: Snappy, format version 1.0, statistics off); row groups are cut at
 * about a fifth of MAX FILE SIZE and after each row the file's estimated size is checked, so a file may
 * exceed MAX FILE SIZE by up to a row group.
 */
import * as arrow from 'apache-arrow';
import * as pw from 'parquet-wasm';
import type { AuthorizedS3 } from '../aws/aws-access';
import { arrowField, columnBuilder, recordBatch, type ColumnBuilder } from './arrow-columns';
import type { CsvEncoder } from './csv-encoder';
import { ExceedsMaxFileSize, MultipartUpload } from './multipart-upload';
import type { S3KeyManager } from './s3-keys';
import type { ArrowColumnType } from './type-mapping';

export interface UploadContext {
  s3: AuthorizedS3;
  keys: S3KeyManager;
  maxFileSize: number;
  partSize: number;
  signal?: AbortSignal;
  /** Called when a data file is complete (visible); may throw to fail the COPY (fault injection). */
  onFileComplete(key: string, bytes: number): void;
}

export interface BatchUploader {
  forceNewFile(): Promise<void>;
  appendRow(values: (Buffer | null)[], rawSize: number): Promise<void>;
  finish(): Promise<void>;
}

/** A file a batch writes: a multipart upload, or something that writes into one. */
interface BatchFile {
  readonly upload: MultipartUpload;
  /** Completes the file; returns its size. */
  finish(): Promise<number>;
}

/**
 * What both formats share: a batch writes numbered files one at a time, each a multipart upload under
 * `<path>/mz-<id>-batch-<batch>-<file>.<ext>`, reported when complete.
 */
abstract class FileSequenceUploader<F extends BatchFile> implements BatchUploader {
  protected current: F | null = null;
  private nextFileIndex: number;

  constructor(
    protected readonly ctx: UploadContext,
    private readonly batch: number,
    private readonly extension: 'csv' | 'parquet',
    firstFileIndex: number,
  ) {
    this.nextFileIndex = firstFileIndex;
  }

  abstract appendRow(values: (Buffer | null)[], rawSize: number): Promise<void>;

  /** Opens the format's file on a started upload. */
  protected abstract open(upload: MultipartUpload): Promise<F>;

  /** The size limit the multipart upload itself enforces. */
  protected abstract uploadSizeLimit(): number;

  async forceNewFile(): Promise<void> {
    await this.startNewFile();
  }

  protected async startNewFile(): Promise<F> {
    await this.finish();
    const key = this.ctx.keys.dataKey(this.batch, this.nextFileIndex++, this.extension);
    const upload = await MultipartUpload.start(this.ctx.s3, this.ctx.keys.bucket, key, {
      partSize: this.ctx.partSize,
      fileSizeLimit: this.uploadSizeLimit(),
      signal: this.ctx.signal,
    });
    this.current = await this.open(upload);
    return this.current;
  }

  async finish(): Promise<void> {
    const file = this.current;
    if (!file) return;
    this.current = null;
    const bytes = await file.finish();
    this.ctx.onFileComplete(file.upload.key, bytes);
  }
}

/** A CSV file is the upload itself, started with the header when there is one. */
class CsvFile implements BatchFile {
  constructor(readonly upload: MultipartUpload) {}
  finish(): Promise<number> {
    return this.upload.finish();
  }
}

export class CsvBatchUploader extends FileSequenceUploader<CsvFile> {
  constructor(
    ctx: UploadContext,
    batch: number,
    private readonly encoder: CsvEncoder,
    private readonly header: Buffer | null,
  ) {
    super(ctx, batch, 'csv', 1);
  }

  async appendRow(values: (Buffer | null)[]): Promise<void> {
    const row = this.encoder.encodeRow(values);
    const file = this.current ?? (await this.startNewFile());
    try {
      file.upload.bufferChunk(row);
    } catch (e) {
      if (!(e instanceof ExceedsMaxFileSize)) throw e;
      (await this.startNewFile()).upload.bufferChunk(row);
    }
    await this.current!.upload.drain();
  }

  protected async open(upload: MultipartUpload): Promise<CsvFile> {
    if (this.header) upload.bufferChunk(this.header);
    return new CsvFile(upload);
  }

  protected uploadSizeLimit(): number {
    // a CSV file never exceeds MAX FILE SIZE: the upload refuses the row that would, which starts the next file
    return this.ctx.maxFileSize;
  }
}

/** Ratio of row group size to MAX FILE SIZE (Materialize's parquet_row_group_ratio default: 20%). */
export const PARQUET_ROW_GROUP_RATIO = 0.2;
/** Rows are handed to the Parquet writer in Arrow batches of at most this many bytes / rows. */
const ARROW_BATCH_BYTES = 4 * 1024 * 1024;
const ARROW_BATCH_ROWS = 16_384;

export class ParquetBatchUploader extends FileSequenceUploader<ParquetFile> {
  constructor(
    ctx: UploadContext,
    batch: number,
    private readonly schema: arrow.Schema,
    private readonly types: ArrowColumnType[],
  ) {
    super(ctx, batch, 'parquet', 0);
  }

  async appendRow(values: (Buffer | null)[], rawSize: number): Promise<void> {
    const file = this.current ?? (await this.startNewFile());
    await file.addRow(values, rawSize);
    if (file.sizeEstimate() >= this.ctx.maxFileSize) await this.startNewFile();
  }

  protected open(upload: MultipartUpload): Promise<ParquetFile> {
    return ParquetFile.open(upload, this.schema, this.types, Math.max(1, Math.floor(this.ctx.maxFileSize * PARQUET_ROW_GROUP_RATIO)));
  }

  protected uploadSizeLimit(): number {
    // the size limit is enforced by this uploader (after each row), not by the multipart upload
    return this.ctx.partSize * 10_000;
  }
}

/** The Parquet writer settings Materialize uses: Snappy, format version 1.0, no statistics. */
export function writerProperties(rowGroupBytes: number): pw.WriterProperties {
  return new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression.SNAPPY)
    .setWriterVersion(pw.WriterVersion.V1)
    .setStatisticsEnabled(pw.EnabledStatistics.None)
    .setMaxRowGroupSize(2 ** 31 - 1)
    .setMaxRowGroupBytes(rowGroupBytes)
    .build();
}

/**
 * One Parquet file being written: Arrow builders → parquet-wasm's streaming writer → multipart upload.
 * The writer pulls one Arrow batch at a time, and its output is uploaded as it comes, so memory holds at
 * most a batch, the row group being encoded and a few upload parts.
 */
class ParquetFile implements BatchFile {
  private builders: ColumnBuilder[];
  private builderBytes = 0;
  private rows = 0;
  /** Arrow bytes handed to the writer since it last emitted output (its in-progress row group). */
  private inProgressBytes = 0;
  private pending: { batch: pw.RecordBatch | null; taken: () => void } | null = null;
  private takeWaiter: ((v: { batch: pw.RecordBatch | null; taken: () => void }) => void) | null = null;
  private pump: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  private constructor(
    readonly upload: MultipartUpload,
    private readonly schema: arrow.Schema,
    private readonly types: ArrowColumnType[],
  ) {
    this.builders = types.map((t) => columnBuilder(t));
  }

  static async open(upload: MultipartUpload, schema: arrow.Schema, types: ArrowColumnType[], rowGroupBytes: number): Promise<ParquetFile> {
    const f = new ParquetFile(upload, schema, types);
    const input = new ReadableStream<pw.RecordBatch>(
      {
        pull: async (controller) => {
          const item = await f.take();
          if (item.batch === null) controller.close();
          else controller.enqueue(item.batch);
          item.taken();
        },
      },
      { highWaterMark: 0 },
    );
    const transforming = pw.transformParquetStream(input, writerProperties(rowGroupBytes));
    // the writer reads the first batch for the schema before it returns its output stream
    const first = f.put(toWasm(recordBatch(schema, types.map((t) => columnBuilder(t)), 0)));
    const output = await transforming;
    await first;
    const reader = output.getReader();
    f.pump = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        f.inProgressBytes = 0;
        f.upload.bufferChunk(value as Uint8Array);
        await f.upload.drain();
      }
    })().catch((e) => {
      f.failure ??= e;
      throw e;
    });
    f.pump.catch(() => undefined);
    return f;
  }

  private take(): Promise<{ batch: pw.RecordBatch | null; taken: () => void }> {
    if (this.pending) {
      const p = this.pending;
      this.pending = null;
      return Promise.resolve(p);
    }
    return new Promise((r) => (this.takeWaiter = r));
  }

  /** Hands a batch (or null for end of input) to the writer; resolves when the writer has taken it. */
  private put(batch: pw.RecordBatch | null): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const item = { batch, taken: resolve };
      if (this.takeWaiter) {
        const w = this.takeWaiter;
        this.takeWaiter = null;
        w(item);
      } else this.pending = item;
      this.pump.catch(reject);
    });
  }

  async addRow(values: (Buffer | null)[], rawSize: number): Promise<void> {
    if (this.failure) throw this.failure;
    for (let i = 0; i < values.length; i++) this.builders[i].append(values[i]);
    this.rows++;
    this.builderBytes += rawSize;
    if (this.builderBytes >= ARROW_BATCH_BYTES || this.rows >= ARROW_BATCH_ROWS) await this.flushBuilders();
  }

  private async flushBuilders(): Promise<void> {
    if (this.rows === 0) return;
    const rb = recordBatch(this.schema, this.builders, this.rows);
    this.builders = this.types.map((t) => columnBuilder(t));
    this.inProgressBytes += this.builderBytes;
    this.builderBytes = 0;
    this.rows = 0;
    await this.put(toWasm(rb));
    if (this.failure) throw this.failure;
  }

  /** Uploaded + buffered bytes, plus what the writer and the builders hold (approximate). */
  sizeEstimate(): number {
    return this.upload.addedBytes() + this.inProgressBytes + this.builderBytes;
  }

  async finish(): Promise<number> {
    await this.flushBuilders();
    await this.put(null);
    await this.pump;
    return this.upload.finish();
  }
}

function toWasm(rb: arrow.RecordBatch): pw.RecordBatch {
  const table = pw.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table(rb), 'stream'));
  const batches = table.recordBatches();
  table.free();
  return batches[0];
}

/** The Arrow schema for the COPY's columns. */
export function arrowSchema(columns: { name: string; type: ArrowColumnType; nullable: boolean }[]): arrow.Schema {
  return new arrow.Schema(columns.map((c) => arrowField(c.name, c.type, c.nullable)));
}
