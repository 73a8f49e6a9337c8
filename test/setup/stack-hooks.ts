/** Root hooks: whatever shared local stack the run started is stopped at the end, so no process is left behind. */
// Children (worker, mz-local) inherit it: see lib/aws-clients.ts.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { stopSharedStack } from '../helpers/stack';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopSharedStack();
  },
};
