/** The bench's /proc reader: stat lines with awkward command names, tree walks, and a real child process. */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { parseProcStat, sampleTree, treeMembers, type ProcStat } from '../../bench/airflow/process-tree';

describe('bench process tree (/proc)', () => {
  it('reads pid, ppid and all four CPU times even when the command name holds spaces and parentheses', () => {
    // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
    const line = '4242 (python3 (airflow) x) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 123 456 789';
    assert.deepEqual(parseProcStat(line), { pid: 4242, ppid: 17, cpuTicks: 250 + 50 + 7 + 3 });
    assert.throws(() => parseProcStat('garbage'), /not a \/proc\/<pid>\/stat line/);
  });

  it('takes the roots and all their descendants, and nothing else', () => {
    const p = (pid: number, ppid: number): ProcStat => ({ pid, ppid, cpuTicks: 1 });
    const stats = [p(1, 0), p(10, 1), p(11, 10), p(12, 11), p(20, 1), p(21, 20), p(30, 12)];
    assert.deepEqual(treeMembers(stats, [10]).map((s) => s.pid).sort((a, b) => a - b), [10, 11, 12, 30]);
    assert.deepEqual(treeMembers(stats, [11, 20]).map((s) => s.pid).sort((a, b) => a - b), [11, 12, 20, 21, 30]);
    assert.deepEqual(treeMembers(stats, [99]), []);
  });

  it('counts a live child of a real process in the tree and its memory', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      const s = sampleTree([process.pid], { pss: true });
      assert.ok(s.processes >= 2, `expected this process and its child, got ${s.processes}`);
      assert.ok(s.rssBytes > sampleTree([child.pid!]).rssBytes, 'the tree holds more than the child alone');
      assert.ok(s.pssBytes > 0 && s.pssBytes <= s.rssBytes, `PSS ${s.pssBytes} should be positive and at most RSS ${s.rssBytes}`);
      assert.ok(s.cpuSeconds > 0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
