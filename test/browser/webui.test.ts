/**
 * The Temporal Web UI as a way in: Debian's chromium (driven by playwright-core, no browser download) opens the
 * dev server's UI, starts a bulkExport from the Start Workflow form with the JSON the README documents, and
 * sees it complete; a screenshot of the run's page is saved under test-artifacts/.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { BulkExportInput, BulkExportResult } from '../../common/export/types';
import type { OnboardInput } from '../../common/onboarding/types';
import { PROJECT_ROOT } from '../../local/stack';
import { sleep } from '../../local/processes';
import { sharedStack, type TestStack } from '../helpers/stack';
import { onboardAwsConnection } from '../../workflows';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(PROJECT_ROOT, 'test-artifacts');

/** The JSON block the README shows right after `<!-- webui:<name> -->`. */
function documentedJson<T>(name: string): T {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const m = new RegExp(`<!-- webui:${name} -->\\s*\`\`\`json\\n([\\s\\S]*?)\`\`\``).exec(readme);
  assert.ok(m, `README.md has a \`\`\`json block after <!-- webui:${name} -->`);
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

  it('starts a bulkExport from the Start Workflow form with the documented JSON and sees it complete', async () => {
    const input = documentedJson<BulkExportInput>('bulkExport');
    const workflowId = `webui-export-${Date.now()}`;
    const ui = stack.info.temporalUiUrl;
    const page = await context!.newPage();

    await page.goto(`${ui}/namespaces/default/workflows/start-workflow`);
    await page.locator('#workflowId').fill(workflowId);
    await page.locator('#taskQueue').fill(stack.taskQueue);
    await page.locator('#workflowType').fill('bulkExport');
    // The input is a code editor: insert the text as typed, without the editor's auto-closing of brackets.
    await page.locator('[aria-label="Data"]').click();
    await page.keyboard.insertText(JSON.stringify(input, null, 2));
    await page.getByTestId('start-workflow-button').click();

    // The UI started it: the server knows the run, with exactly the documented input.
    const handle = stack.temporal.workflow.getHandle(workflowId);
    await waitFor('the workflow to be started from the form', async () => Boolean(await handle.describe().catch(() => undefined)));
    const result = (await handle.result()) as BulkExportResult;
    assert.equal(result.exportName, input.exportName);
    await stack.aws.s3.send(new HeadObjectCommand({ Bucket: input.bucket, Key: result.manifestKey.replace(/manifest\.json$/, '_SUCCESS') }));

    // And the UI shows it completed: follow the form's "Workflow started successfully" link to the run's page.
    await page.getByRole('link', { name: 'Workflow started successfully' }).first().click();
    await page.waitForURL(new RegExp(`/workflows/${workflowId}/[0-9a-f-]{36}/`));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.rmSync(path.join(ARTIFACTS, 'webui-bulkExport-run-FAILED.png'), { force: true });
    let lastReload = Date.now();
    await waitFor(
      'the run page to show Completed',
      async () => {
        if (await isVisible(page, page.getByText(/^completed$/i))) return true;
        if (Date.now() - lastReload > 3000) {
          await page.reload();
          lastReload = Date.now();
        }
        return false;
      },
      60_000,
      () => page.screenshot({ path: path.join(ARTIFACTS, 'webui-bulkExport-run-FAILED.png'), fullPage: true }),
    );
    const shot = path.join(ARTIFACTS, 'webui-bulkExport-run.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(fs.statSync(shot).size > 10_000, 'the screenshot was written');
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
