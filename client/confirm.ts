/**
 * Confirmation before a destructive action: asked on the terminal, skipped with --yes, refused when there is
 * no terminal to ask on and no --yes (a script must say it means it).
 */
import * as readline from 'node:readline/promises';
import { CliError } from './args';

export async function confirmOrRefuse(action: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new CliError(`refusing to ${action} without confirmation: there is no terminal to ask on; pass --yes to confirm`, 2);
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`This will ${action}. Type "yes" to go on: `);
    if (answer.trim().toLowerCase() !== 'yes') throw new CliError('not confirmed; nothing was changed', 1);
  } finally {
    rl.close();
  }
}
