/** The side-by-side with Airflow as rows of the bench table: per batch size, both systems on one line each. */
import { formatBytes, round } from '../stats';
import type { AirflowCompareResult, Orchestrator, OrchestratorBatch } from './compare';

const WHAT_PUBLISHED: Record<Orchestrator, string> = {
  'mz-s3-export': 'workflow closed: verified, manifest, _SUCCESS',
  airflow: 'S3 sensor succeeded (no verification or manifest)',
};

const seconds = (ms: number) => `${round(ms / 1000, 2)} s`;

export function airflowReportRows(r: AirflowCompareResult | { error: string }): string[][] {
  if ('error' in r) return [['vs airflow', 'not run', 'error', r.error.split('\n')[0].slice(0, 160)]];
  const rows: string[][] = [];
  const limits = Object.entries(r.airflowLimits)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  rows.push(['vs airflow', 'Airflow (standalone, LocalExecutor, SQLite)', r.airflowVersion, `ready ${r.airflowStartSeconds} s after start; ${limits}`]);
  for (const i of r.idle) {
    rows.push([
      'vs airflow idle',
      `${i.system}: CPU, memory at rest`,
      `${i.cpuPercent}% CPU, RSS ${formatBytes(i.rssBytes)}`,
      `PSS ${formatBytes(i.pssBytes)}, ${i.processes} processes`,
    ]);
  }
  for (const b of r.batches) rows.push(...batchRows(b, r.rowsPerExport));
  return rows;
}

function batchRows(b: OrchestratorBatch, rows: number): string[][] {
  const bench = `vs airflow N=${b.exports}`;
  const ok = `${b.succeeded}/${b.exports} ok${b.firstFailure ? `; first failure: ${b.firstFailure.slice(0, 100)}` : ''}`;
  return [
    [bench, `${b.system}: trigger -> published`, `p50 ${seconds(b.p50Ms)}, max ${seconds(b.maxMs)}`, `${ok}; ${WHAT_PUBLISHED[b.system]}; ${rows} rows each`],
    [
      bench,
      `${b.system}: CPU, peak memory`,
      `${round(b.cpuSeconds, 1)} s CPU, RSS ${formatBytes(b.peakRssBytes)}`,
      `PSS ${formatBytes(b.peakPssBytes)}; up to ${b.peakProcesses} processes; ${round(b.wallSeconds, 1)} s wall`,
    ],
  ];
}
