/** `npm run bundle`: writes dist/workflow-bundle.js for the worker (worker/workflow-bundle.ts); JSON log lines. */
import { DefaultLogger } from '@temporalio/worker';
import { log } from '../platform/log';
import { buildWorkflowBundle } from './workflow-bundle';
import { sdkLogEntry } from './sdk-logger';

buildWorkflowBundle(new DefaultLogger('WARN', sdkLogEntry))
  .then((b) => log('info', 'workflow bundles built', { files: b.files, bytes: b.bytes, sourceHash: b.sourceHash }))
  .catch((e) => {
    log('error', 'workflow bundle failed', { error: (e as Error).message });
    process.exit(1);
  });
