/**
 * The Temporal Web UI as a way in: Debian's chromium (driven by playwright-core, no browser download) opens the
 * dev server's UI, starts a bulkExport and an expireExports from the Start Workflow form with the JSON the docs
 * show (README.md, docs/retention.md), and sees each complete; screenshots of the runs' pages are saved under
 * test-artifacts/.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { BulkExportInput, BulkExportResult } from '../../common/export/types';
import type { OnboardInput } from '../../common/onboarding/types';
import type { ExpireInput, ExpireResult } from '../../common/retention/types';
import { PROJECT_ROOT } from '../../local/stack';
import { sleep } from '../../local/processes';
import { sharedStack, type TestStack } from '../helpers/stack';
import { bulkExport, onboardAwsConnection } from '../../workflows';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(PROJECT_ROOT, 'test-artifacts');

/** The JSON block a document (the README unless said) shows right after `<!-- webui:<name> -->`. */
function documentedJson<T>(name: string, file = 'README.md'): T {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
  const m = new RegExp(`<!-- webui:${name} -->\\s*\`\`\`json\\n([\\s\\S]*?)\`\`\``).exec(text);
  assert.ok(m, `${file} has a \`\`\`json block after <!-- webui:${name} -->`);
  return JSON.parse(m[1]) as T;
}

describe('Temporal Web UI (chromium)', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;

  before(async function () {
    this.timeout(240_000);
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing; 'npm test' installs it (local/provision.sh), or: apt-get install chromium`);
    stack = await sharedStack();
    // Onboarding with the README's JSON too (through the client: the form is exercised by the export below).
    await stack.temporal.workflow.execute(onboardAwsConnection, {
      taskQueue: stack.taskQueue,
      workflowId: `webui-onboard-${Date.now()}`,
      args: [documentedJson<OnboardInput>('onboardAwsConnection')],
      workflowExecutionTimeout: '3 minutes',
    });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mz-s3-export-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      viewport: { width: 1400, height: 1000 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  after(async () => {
    await context?.close();
    if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  });

  /** Fills the Start Workflow form as a person would and starts the run; the server then knows it. */
  async function startFromForm(page: Page, workflowType: string, workflowId: string, input: unknown): Promise<void> {
    await page.goto(`${stack.info.temporalUiUrl}/namespaces/default/workflows/start-workflow`);
    await page.locator('#workflowId').fill(workflowId);
    await page.locator('#taskQueue').fill(stack.taskQueue);
    await page.locator('#workflowType').fill(workflowType);
    // The input is a code editor: insert the text as typed, without the editor's auto-closing of brackets.
    await page.locator('[aria-label="Data"]').click();
    await page.keyboard.insertText(JSON.stringify(input, null, 2));
    await page.getByTestId('start-workflow-button').click();
    const handle = stack.temporal.workflow.getHandle(workflowId);
    await waitFor('the workflow to be started from the form', async () => Boolean(await handle.describe().catch(() => undefined)));
  }

  /**
   * Follows the form's "Workflow started successfully" link and waits for the run's page to say Completed and to
   * show `resultText` (a value only the result holds: the page renders the payloads after the status).
   */
  async function seeCompletedInUi(page: Page, workflowId: string, resultText: string, shotName: string): Promise<void> {
    await page.getByRole('link', { name: 'Workflow started successfully' }).first().click();
    await page.waitForURL(new RegExp(`/workflows/${workflowId}/[0-9a-f-]{36}/`));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const failedShot = path.join(ARTIFACTS, `${shotName}-FAILED.png`);
    fs.rmSync(failedShot, { force: true });
    let lastReload = Date.now();
    await waitFor(
      `the run page to show Completed and ${resultText}`,
      async () => {
        if ((await isVisible(page, page.getByText(/^completed$/i))) && (await isVisible(page, page.getByText(resultText)))) return true;
        if (Date.now() - lastReload > 3000) {
          await page.reload();
          lastReload = Date.now();
        }
        return false;
      },
      60_000,
      () => page.screenshot({ path: failedShot, fullPage: true }),
    );
    const shot = path.join(ARTIFACTS, `${shotName}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(fs.statSync(shot).size > 10_000, 'the screenshot was written');
  }

  it('starts a bulkExport from the Start Workflow form with the documented JSON and sees it complete', async () => {
    const input = documentedJson<BulkExportInput>('bulkExport');
    const workflowId = `webui-export-${Date.now()}`;
    const page = await context!.newPage();
    await startFromForm(page, 'bulkExport', workflowId, input);
    const result = (await stack.temporal.workflow.getHandle(workflowId).result()) as BulkExportResult;
    assert.equal(result.exportName, input.exportName);
    await stack.aws.s3.send(new HeadObjectCommand({ Bucket: input.bucket, Key: result.manifestKey.replace(/manifest\.json$/, '_SUCCESS') }));
    await seeCompletedInUi(page, workflowId, result.manifestKey, 'webui-bulkExport-run');
  });

  it('starts an expireExports plan from the form with the JSON docs/retention.md shows: the plan lists the export, nothing is deleted', async () => {
    const input = documentedJson<ExpireInput>('expireExports', 'docs/retention.md');
    const exportInput = documentedJson<BulkExportInput>('bulkExport');
    const [target] = input.targets;
    assert.equal(target.name, exportInput.exportName, "the documented expiry's first target is the documented export");
    // The export the README's Web UI example makes, once more for a logical time of its own (so this test stands alone).
    await stack.temporal.workflow.execute(bulkExport, {
      taskQueue: stack.taskQueue,
      workflowId: `webui-export-for-expiry-${Date.now()}`,
      args: [{ ...exportInput, logicalTime: '2024-01-01T00:00:00Z' }],
      workflowExecutionTimeout: '2 minutes',
    });
    const listing = async () => ((await stack.aws.s3.send(new ListObjectsV2Command({ Bucket: target.bucket, Prefix: `${target.prefix}/` }))).Contents ?? []).map((o) => o.Key!).sort();
    const before = await listing();

    const workflowId = `webui-expire-${Date.now()}`;
    const page = await context!.newPage();
    await startFromForm(page, 'expireExports', workflowId, input);
    const result = (await stack.temporal.workflow.getHandle(workflowId).result()) as ExpireResult;
    assert.equal(result.mode, 'plan');
    assert.deepEqual(result.plans.map((p) => p.name), input.targets.map((t) => t.name));
    const plan = result.plans[0];
    assert.ok(plan.folders >= 1 && plan.kept === plan.folders && plan.delete.length === 0, `keepLast 30 keeps every folder: ${JSON.stringify(plan)}`);
    assert.equal(result.foldersDeleted, 0);
    assert.deepEqual(await listing(), before, 'a plan deletes nothing');
    await seeCompletedInUi(page, workflowId, result.plannedAt, 'webui-expireExports-run');
  });
});

async function isVisible(page: Page, locator: ReturnType<Page['getByText']>): Promise<boolean> {
  return locator.first().isVisible().catch(() => false);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 90_000, onTimeout?: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(500);
  }
  await onTimeout?.().catch(() => undefined);
  assert.fail(`timed out waiting for ${what}`);
}
