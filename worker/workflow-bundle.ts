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
/**
 * One bundle per failure converter: the sandbox's failure converter is compiled in, and with payload encryption on
 * (MZ_S3_EXPORT_PAYLOAD_KEY) failures must be encoded (lib/encoded-failures.ts), so there are two variants.
 */
export type BundleVariant = 'plain' | 'encoded-failures';
const bundleFile = (v: BundleVariant) => path.join(ROOT, 'dist', v === 'plain' ? 'workflow-bundle.js' : `workflow-bundle-${v}.js`);
export const BUNDLE_FILE = bundleFile('plain');
const STAMP_FILE = path.join(ROOT, 'dist', 'workflow-bundle.json');
/** Everything the bundle can contain: workflow code, the pure code it imports, the failure converter, the locked SDK. */
const SOURCES = ['workflows', 'common', 'platform/encoded-failures.ts'];

export const WORKFLOWS_PATH = require.resolve('../workflows');
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('../workflows/export-outcome-interceptor')];
const ENCODED_FAILURES_PATH = require.resolve('../platform/encoded-failures');

export function workflowSourceHash(): string {
  const hash = createHash('sha256');
  const walk = (p: string): string[] =>
    !fs.existsSync(p)
      ? []
      : fs.statSync(p).isFile()
        ? [p]
        : fs.readdirSync(p, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(p, e.name)) : [path.join(p, e.name)]));
  const files = [...SOURCES.flatMap((d) => walk(path.join(ROOT, d))), path.join(ROOT, 'package-lock.json')].filter((f) => /\.(ts|js|json)$/.test(f)).sort();
  for (const f of files) hash.update(path.relative(ROOT, f)).update('\0').update(fs.readFileSync(f)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

export function bundleVariant(failureConverterPath: string | undefined): BundleVariant {
  return failureConverterPath ? 'encoded-failures' : 'plain';
}

export async function buildWorkflowBundle(logger?: Logger): Promise<{ files: string[]; bytes: number; sourceHash: string }> {
  const sourceHash = workflowSourceHash();
  fs.mkdirSync(path.dirname(BUNDLE_FILE), { recursive: true });
  const files: string[] = [];
  let bytes = 0;
  for (const [variant, failureConverterPath] of [['plain', undefined], ['encoded-failures', ENCODED_FAILURES_PATH]] as const) {
    const { code } = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
      failureConverterPath,
      logger,
    });
    fs.writeFileSync(bundleFile(variant), code);
    files.push(bundleFile(variant));
    bytes += code.length;
  }
  fs.writeFileSync(STAMP_FILE, JSON.stringify({ sourceHash, builtAt: new Date().toISOString() }, null, 2));
  return { files, bytes, sourceHash };
}

/** The prebuilt bundle for this failure converter when it matches the sources, else why not (for the start log line). */
export function prebuiltBundle(failureConverterPath?: string): { codePath: string; builtAt: string } | { reason: string } {
  const file = bundleFile(bundleVariant(failureConverterPath));
  if (failureConverterPath && failureConverterPath !== ENCODED_FAILURES_PATH) return { reason: `no prebuilt bundle for failure converter ${failureConverterPath}` };
  if (!fs.existsSync(file) || !fs.existsSync(STAMP_FILE)) return { reason: `no prebuilt bundle at ${path.relative(ROOT, file)} (npm run bundle)` };
  const stamp = JSON.parse(fs.readFileSync(STAMP_FILE, 'utf8')) as { sourceHash: string; builtAt: string };
  if (stamp.sourceHash !== workflowSourceHash()) return { reason: `${path.relative(ROOT, file)} was built from other sources than these (npm run bundle)` };
  return { codePath: file, builtAt: stamp.builtAt };
}
