/**
 * The compiler guard of the layout (docs/development.md): tsconfig.workflows.json checks workflows/ and common/
 * without Node's types, so workflow code that reaches for Node fails at type-check, not at worker start.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../local/stack';

const TSC = path.join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function tsc(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [TSC, ...args], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('workflow type-check without Node (tsconfig.workflows.json)', function () {
  this.timeout(120_000);

  it("keeps Node's types out of the workflow program, also through type-only imports", () => {
    const r = tsc('-p', 'tsconfig.workflows.json', '--noEmit', '--listFiles');
    assert.equal(r.code, 0, r.out);
    const files = r.out.split('\n').filter(Boolean);
    assert.ok(files.some((f) => f.endsWith('workflows/index.ts')), 'the workflows are in the program');
    const leaked = files.filter((f) => /node_modules\/(@types\/node|@types\/pg|@aws-sdk|pg)\/|\/(activities|platform|worker|client)\//.test(f));
    assert.deepEqual(leaked, [], 'workflow code reaches Node-side files');
  });

  it("fails on a workflow-side file that imports 'node:fs' or uses Buffer", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mz-s3-export-guard-'));
    try {
      fs.writeFileSync(path.join(dir, 'probe.ts'), "import { readFileSync } from 'node:fs';\nexport const b = Buffer.from('x');\nexport const r = readFileSync;\n");
      fs.writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({ extends: path.join(PROJECT_ROOT, 'tsconfig.workflows.json'), include: ['probe.ts'] }),
      );
      const r = tsc('-p', path.join(dir, 'tsconfig.json'), '--noEmit');
      assert.notEqual(r.code, 0);
      assert.match(r.out, /Cannot find module 'node:fs'/);
      assert.match(r.out, /Cannot find name 'Buffer'/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
