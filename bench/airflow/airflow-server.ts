/**
 * `airflow standalone` (scheduler, DAG processor, triggerer and API server; LocalExecutor and SQLite, as it
 * picks them) with its home under the bench's directory, the DAG folder bench/airflow/dags, and connections to
 * the bench's mz-local and moto from AIRFLOW_CONN_* variables. Driven through the REST API (v2) only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freePort, spawnLogged, stopProcessGroup, waitUntil, type StartedProcess } from '../../local/processes';
import { PROJECT_ROOT } from '../../local/stack';

export const AIRFLOW_DAG_ID = 'mz_s3_export';
export const AIRFLOW_DAGS = path.join(PROJECT_ROOT, 'bench', 'airflow', 'dags');

export interface AirflowRunConf {
  /** The COPY ... TO 's3://bucket/key' statement. */
  sql: string;
  bucket: string;
  /** The folder the COPY writes to, without trailing slash. */
  key: string;
}

/** One DAG run as the API reports it; times are ms since the epoch. */
export interface AirflowRunState {
  runId: string;
  state: string;
  endMs?: number;
  /** End of the sensor task: the moment Airflow knew the export was complete. */
  sensorEndMs?: number;
  sensorState?: string;
  copyState?: string;
}

export interface AirflowServer {
  proc: StartedProcess;
  apiUrl: string;
  trigger(runId: string, conf: AirflowRunConf): Promise<void>;
  /**
   * Every run whose id starts with prefix; with tasks, also its task instances' states and the sensor's end
   * (a second, larger call: the bench asks for it once at the end, so its polling costs Airflow little).
   */
  runs(prefix: string, opts?: { tasks?: boolean }): Promise<AirflowRunState[]>;
  /** Undefined while the scheduler heartbeats; else why not, with the last database error in its log. */
  schedulerProblem(): Promise<string | undefined>;
  close(): Promise<void>;
}

const TERMINAL = new Set(['success', 'failed']);
export const isFinished = (r: AirflowRunState) => TERMINAL.has(r.state);

export async function startAirflow(opts: {
  bin: string;
  dir: string;
  mzUrl: string;
  awsEndpoint: string;
  log: (line: string) => void;
}): Promise<AirflowServer> {
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const home = path.join(opts.dir, 'airflow-home');
  fs.mkdirSync(home, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // standalone starts its components as `airflow ...` from PATH.
    PATH: `${opts.bin}:${process.env.PATH ?? ''}`,
    VIRTUAL_ENV: path.dirname(opts.bin),
    AIRFLOW_HOME: home,
    AIRFLOW__CORE__DAGS_FOLDER: AIRFLOW_DAGS,
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'False',
    // No login for a bench on 127.0.0.1: GET /auth/token hands out an admin token.
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS: 'True',
    AIRFLOW__API__HOST: '127.0.0.1',
    AIRFLOW__API__PORT: String(port),
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${apiUrl}/execution/`,
    // Lets one list call return a whole batch of runs; does not change how Airflow schedules them.
    AIRFLOW__API__MAXIMUM_PAGE_LIMIT: '1000',
    // Task processes report to the API server over HTTP with a 5 s timeout by default; on a loaded machine that
    // fails tasks before they run. Airflow's docs say to raise it under high load.
    AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT: '60',
    AIRFLOW_CONN_MZ: opts.mzUrl,
    AIRFLOW_CONN_MOTO: JSON.stringify({
      conn_type: 'aws',
      login: 'testing',
      password: 'testing',
      extra: { endpoint_url: opts.awsEndpoint, region_name: 'us-east-1' },
    }),
  };
  opts.log(`airflow: starting airflow standalone on ${apiUrl} (home ${path.relative(PROJECT_ROOT, home)})`);
  const proc = spawnLogged('airflow-standalone', path.join(opts.bin, 'airflow'), ['standalone'], {
    logDir: path.join(opts.dir, 'logs'),
    env,
  });
  const close = () => stopProcessGroup(proc.pid, 30_000);
  try {
    let token = '';
    const api = async (method: string, route: string, body?: unknown) => {
      const res = await fetch(`${apiUrl}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(180_000),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`airflow ${method} ${route}: HTTP ${res.status} ${text.slice(0, 300)}`);
      return JSON.parse(text);
    };
    await waitUntil(
      'airflow standalone with the mz_s3_export DAG',
      async () => {
        token = (await api('GET', '/auth/token')).access_token;
        const dag = await api('GET', `/api/v2/dags/${AIRFLOW_DAG_ID}`);
        return dag.is_paused === false && fs.readFileSync(proc.logFile, 'utf8').includes('Airflow is ready');
      },
      { timeoutMs: 6 * 60_000, intervalMs: 2000, logFile: proc.logFile, exited: proc.exited },
    );
    const ms = (t: string | null | undefined) => (t ? Date.parse(t) : undefined);
    return {
      proc,
      apiUrl,
      async trigger(runId, conf) {
        await api('POST', `/api/v2/dags/${AIRFLOW_DAG_ID}/dagRuns`, { dag_run_id: runId, logical_date: null, conf });
      },
      async runs(prefix, { tasks = false } = {}) {
        const q = `run_id_prefix_pattern=${encodeURIComponent(prefix)}&limit=1000`;
        const [runs, tis] = await Promise.all([
          api('GET', `/api/v2/dags/${AIRFLOW_DAG_ID}/dagRuns?${q}`),
          tasks ? api('GET', `/api/v2/dags/${AIRFLOW_DAG_ID}/dagRuns/~/taskInstances?${q}`) : { task_instances: [] },
        ]);
        type Ti = { run_id: string; dag_run_id?: string; task_id: string; state: string | null; end_date: string | null };
        const tiOf = (runId: string, taskId: string) =>
          (tis.task_instances as Ti[]).find((t) => (t.dag_run_id ?? t.run_id) === runId && t.task_id === taskId);
        return (runs.dag_runs as { dag_run_id: string; state: string; end_date: string | null }[]).map((r) => {
          const sensor = tiOf(r.dag_run_id, 'wait_for_export');
          return {
            runId: r.dag_run_id,
            state: r.state,
            endMs: ms(r.end_date),
            sensorEndMs: sensor?.state === 'success' ? ms(sensor.end_date) : undefined,
            sensorState: sensor?.state ?? undefined,
            copyState: tiOf(r.dag_run_id, 'copy_to_s3')?.state ?? undefined,
          };
        });
      },
      async schedulerProblem() {
        const health = await api('GET', '/api/v2/monitor/health');
        if (health.scheduler?.status === 'healthy') return undefined;
        const dbError = fs
          .readFileSync(proc.logFile, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('scheduler') && /OperationalError/.test(l))
          .pop();
        return `Airflow's scheduler is ${health.scheduler?.status ?? 'gone'} (last heartbeat ${health.scheduler?.latest_scheduler_heartbeat ?? 'never'})${dbError ? `; its last database error: ${dbError.replace(/^scheduler\s*\|\s*/, '')}` : ''}`;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
