/** Root hooks: whatever shared local stack the run started is stopped at the end, so no process is left behind. */
import { stopSharedStack } from '../helpers/stack';
import { stopWorkflowEnv } from '../workflow/harness';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await Promise.all([stopSharedStack(), stopWorkflowEnv()]);
  },
};
