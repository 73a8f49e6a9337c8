/** Reading an export back from S3 (manifest, CSV, Parquet) and the source rows from mz-local, to compare them. */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { parse as parseCsv } from 'csv-parse/sync';
import { parquetReadObjects } from 'hyparquet';
import type { ExportManifest } from '../../common/export/manifest';
import type { TestStack } from './stack';
import { RAW_PARQUET_PARSERS } from './export-values';

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
    rows.push(...((await parquetReadObjects({ file, parsers: RAW_PARQUET_PARSERS })) as Record<string, unknown>[]));
  }
  return rows;
}

/** The source's rows in the server's text form (null for NULL), with the column names. */
export async function sourceRows(stack: TestStack, sql: string): Promise<{ columns: string[]; types: number[]; rows: (string | null)[][] }> {
  const mz = await stack.mz();
  try {
    const res = await mz.query({ text: sql, rowMode: 'array', types: { getTypeParser: () => (v: string) => v } });
    return { columns: res.fields.map((f) => f.name), types: res.fields.map((f) => f.dataTypeID), rows: res.rows as (string | null)[][] };
  } finally {
    await mz.end();
  }
}

/** Order-insensitive comparison key for a list of rows. */
export function sortedRows<T>(rows: T[][]): string[] {
  return rows.map((r) => JSON.stringify(r)).sort();
}

/** Asserts both lists hold the same rows in any order, showing a few rows that differ when they do not. */
export function assertSameRows(actual: unknown[][], expected: unknown[][]): void {
  const a = sortedRows(actual);
  const e = sortedRows(expected);
  const count = (xs: string[]) => xs.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<string, number>());
  const ca = count(a);
  const ce = count(e);
  const onlyActual = a.filter((x) => (ce.get(x) ?? 0) < (ca.get(x) ?? 0)).slice(0, 3);
  const onlyExpected = e.filter((x) => (ca.get(x) ?? 0) < (ce.get(x) ?? 0)).slice(0, 3);
  if (a.length !== e.length || onlyActual.length || onlyExpected.length) {
    throw new Error(
      `rows differ: ${a.length} read back, ${e.length} in the source\n  only read back: ${onlyActual.join('\n    ')}\n  only in the source: ${onlyExpected.join('\n    ')}`,
    );
  }
}
