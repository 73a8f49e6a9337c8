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
      `${i.cpuPercent}% CPU, RSS ${formatBytes(i.rssBytes)}, PSS ${formatBytes(i.pssBytes)}`,
      `${i.processes} processes`,
    ]);
  }
  for (const n of [...new Set(r.batches.map((b) => b.exports))]) {
    const batch = (system: Orchestrator) => r.batches.find((b) => b.exports === n && b.system === system);
    const [ours, airflow] = [batch('mz-s3-export'), batch('airflow')];
    for (const b of [ours, airflow]) if (b) rows.push(...batchRows(b, r.rowsPerExport));
    // A ratio only where both finished every export: a partial batch has no comparable latency or cost.
    if (ours && airflow && !ours.failed && !airflow.failed) rows.push(ratioRow(ours, airflow));
  }
  return rows;
}

/** How many times more Airflow needed than we did, in this run: what carries over from a noisy machine. */
export function ratioRow(ours: OrchestratorBatch, airflow: OrchestratorBatch): string[] {
  const x = (a: number, b: number) => `${round(a / b, 1)}x`;
  return [
    `vs airflow N=${ours.exports}`,
    'airflow / mz-s3-export',
    `latency p50 ${x(airflow.p50Ms, ours.p50Ms)}, CPU ${x(airflow.cpuSeconds, ours.cpuSeconds)}, PSS ${x(airflow.peakPssBytes, ours.peakPssBytes)}`,
    `max latency ${x(airflow.maxMs, ours.maxMs)}, RSS ${x(airflow.peakRssBytes, ours.peakRssBytes)}`,
  ];
}

function batchRows(b: OrchestratorBatch, rows: number): string[][] {
  const bench = `vs airflow N=${b.exports}`;
  const retried = b.triggerRetries ? `; ${b.triggerRetries} triggers refused (HTTP 5xx) and retried` : '';
  const ok = `${b.succeeded}/${b.exports} ok${retried}${b.firstFailure ? `; first failure: ${b.firstFailure.slice(0, 200)}` : ''}`;
  return [
    [bench, `${b.system}: trigger -> published`, `p50 ${seconds(b.p50Ms)}, max ${seconds(b.maxMs)}`, `${ok}; ${WHAT_PUBLISHED[b.system]}; ${rows} rows each`],
    [
      bench,
      `${b.system}: CPU, peak memory`,
      `${round(b.cpuSeconds, 1)} s CPU, RSS ${formatBytes(b.peakRssBytes)}, PSS ${formatBytes(b.peakPssBytes)}`,
      `peaks over the process tree (up to ${b.peakProcesses} processes; RSS counts shared pages once per process, PSS splits them); ${round(b.wallSeconds, 1)} s wall`,
    ],
  ];
}
