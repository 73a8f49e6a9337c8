/** Reading an export back from S3 (manifest, CSV, Parquet) and the source rows from mz-local, to compare them. */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { parse as parseCsv } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import type { ExportManifest } from '../../lib/export-manifest';
import type { TestStack } from './stack';

export async function listKeys(stack: TestStack, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const res = await stack.aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(res.Contents ?? []).map((o) => o.Key!));
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

export async function getBytes(stack: TestStack, bucket: string, key: string): Promise<Uint8Array> {
  const res = await stack.aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return res.Body!.transformToByteArray();
}

export async function getJson<T>(stack: TestStack, bucket: string, key: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await getBytes(stack, bucket, key))) as T;
}

export async function readManifest(stack: TestStack, manifestUri: string): Promise<ExportManifest> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(manifestUri)!;
  return getJson<ExportManifest>(stack, m[1], m[2]);
}

/** All rows of the manifest's CSV files, as strings ('' for NULL), without header rows. */
export async function readCsvRows(stack: TestStack, manifest: ExportManifest): Promise<string[][]> {
  const rows: string[][] = [];
  for (const f of manifest.files) {
    const text = new TextDecoder().decode(await getBytes(stack, manifest.location.bucket, f.key));
    const records = parseCsv(text, { relax_column_count: false }) as string[][];
    rows.push(...(manifest.csv?.header ? records.slice(1) : records));
  }
  return rows;
}

/** All rows of the manifest's Parquet files, as hyparquet decodes them (column order of the file). */
export async function readParquetRows(stack: TestStack, manifest: ExportManifest): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const f of manifest.files) {
    const bytes = await getBytes(stack, manifest.location.bucket, f.key);
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    rows.push(...((await parquetReadObjects({ file })) as Record<string, unknown>[]));
  }
  return rows;
}

/** The source's rows in the server's text form (null for NULL), with the column names. */
export async function sourceRows(stack: TestStack, sql: string): Promise<{ columns: string[]; rows: (string | null)[][] }> {
  const mz = await stack.mz();
  try {
    const res = await mz.query({ text: sql, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
    return { columns: res.fields.map((f) => f.name), rows: res.rows as (string | null)[][] };
  } finally {
    await mz.end();
  }
}

/** Order-insensitive comparison key for a list of rows. */
export function sortedRows<T>(rows: T[][]): string[] {
  return rows.map((r) => JSON.stringify(r)).sort();
}
