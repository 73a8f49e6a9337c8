/** `npm run demo`: the one-command tour (being built). */
export const usage = `demo [--keep] [--random-ports]                             the whole path on a local stack, in a few minutes`;

export async function run(): Promise<void> {
  throw new Error('the demo is not ready yet');
}
