/**
 * The workflow bundle, built once (`npm run bundle`, the Docker image, `npm test`) into dist/ instead of by webpack
 * at every worker start. Beside it a stamp records a hash of the sources it was built from; a worker whose
 * sources differ (a developer edited a workflow) bundles in memory instead and says so, so a stale bundle never
 * runs.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode, type Logger } from '@temporalio/worker';

const ROOT = path.resolve(__dirname, '..');
export const BUNDLE_FILE = path.join(ROOT, 'dist', 'workflow-bundle.js');
const STAMP_FILE = path.join(ROOT, 'dist', 'workflow-bundle.json');
/** Everything the bundle can contain: workflow code, the pure code it imports, and the locked SDK version. */
const SOURCE_DIRS = ['workflows', 'common', 'lib'];

export const WORKFLOWS_PATH = require.resolve('../workflows');
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('../workflows/export-outcome-interceptor')];

export function workflowSourceHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string): string[] =>
    fs.existsSync(dir)
      ? fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]))
      : [];
  const files = [...SOURCE_DIRS.flatMap((d) => walk(path.join(ROOT, d))), path.join(ROOT, 'package-lock.json')].filter((f) => /\.(ts|js|json)$/.test(f)).sort();
  for (const f of files) hash.update(path.relative(ROOT, f)).update('\0').update(fs.readFileSync(f)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

export async function buildWorkflowBundle(logger?: Logger): Promise<{ file: string; bytes: number; sourceHash: string }> {
  const sourceHash = workflowSourceHash();
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES, logger });
  fs.mkdirSync(path.dirname(BUNDLE_FILE), { recursive: true });
  fs.writeFileSync(BUNDLE_FILE, code);
  fs.writeFileSync(STAMP_FILE, JSON.stringify({ sourceHash, builtAt: new Date().toISOString() }, null, 2));
  return { file: BUNDLE_FILE, bytes: code.length, sourceHash };
}

/** The prebuilt bundle when it matches the sources, else why not (for the start log line). */
export function prebuiltBundle(): { codePath: string; builtAt: string } | { reason: string } {
  if (!fs.existsSync(BUNDLE_FILE) || !fs.existsSync(STAMP_FILE)) return { reason: `no prebuilt bundle at ${path.relative(ROOT, BUNDLE_FILE)} (npm run bundle)` };
  const stamp = JSON.parse(fs.readFileSync(STAMP_FILE, 'utf8')) as { sourceHash: string; builtAt: string };
  if (stamp.sourceHash !== workflowSourceHash()) return { reason: `${path.relative(ROOT, BUNDLE_FILE)} was built from other sources than these (npm run bundle)` };
  return { codePath: BUNDLE_FILE, builtAt: stamp.builtAt };
}
