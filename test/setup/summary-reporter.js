// Mocha's spec reporter plus one plain closing line, 'N passed, N failed, N skipped', that CI reads.
// When MZ_S3_EXPORT_TEST_STATS names a file (test/setup/run-lanes.ts sets it per lane), the counts and each spec
// file's seconds are also written there as JSON (SpecStats in test/setup/lane-plan.ts).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');
const { EVENT_RUN_END, EVENT_SUITE_BEGIN, EVENT_SUITE_END } = Mocha.Runner.constants;

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const statsFile = process.env.MZ_S3_EXPORT_TEST_STATS;
    const seconds = {};
    const began = new Map();
    // A spec file's time: from its top-level suites' start to their end, hooks included.
    const topLevel = (suite) => suite.file && suite.parent && suite.parent.root;
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (topLevel(suite)) began.set(suite, Date.now());
    });
    runner.on(EVENT_SUITE_END, (suite) => {
      if (!topLevel(suite)) return;
      const file = path.relative(process.cwd(), suite.file).split(path.sep).join('/');
      seconds[file] = (seconds[file] || 0) + (Date.now() - began.get(suite)) / 1000;
    });
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || {};
      process.stdout.write(`\n${s.passes || 0} passed, ${s.failures || 0} failed, ${s.pending || 0} skipped\n`);
      if (statsFile) {
        const stats = { passes: s.passes || 0, failures: s.failures || 0, pending: s.pending || 0, seconds };
        fs.writeFileSync(statsFile, JSON.stringify(stats));
      }
    });
  }
}
module.exports = SummaryReporter;
