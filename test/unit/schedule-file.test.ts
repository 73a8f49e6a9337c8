import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidInputError } from '../../common/failures';
import { cronProblem } from '../../client/schedules/cron';
import { formatDuration, parseDuration } from '../../client/schedules/duration';
import { parseOverlap, parseScheduleFile, validateScheduleDocument } from '../../client/schedules/file';
import { describeEntry } from '../../client/schedules/format';
import { desiredSchedule, toScheduleId } from '../../client/schedules/model';
import { expireExports } from '../../workflows/expiry';

const BASE = `
version: 1
scheduleSet: analytics
defaults:
  connectionName: demo_s3
  bucket: acme-exports
  prefix: exports
exports:
`;

function problemsOf(text: string, fileName = 'schedules.yaml'): string {
  try {
    parseScheduleFile(text, fileName);
  } catch (e) {
    assert.ok(e instanceof InvalidInputError, `expected InvalidInputError, got ${(e as Error).stack}`);
    return e.message;
  }
  assert.fail('expected the file to be rejected');
}

describe('schedule file', () => {
  it('parses entries and fills every default in one place', () => {
    const file = parseScheduleFile(
      BASE +
        `  - name: orders-daily
    object: public.orders
    format: parquet
    maxFileSize: 256MB
    cron: "0 3 * * *"
    timezone: Europe/Berlin
    jitter: 5m
  - name: revenue
    query: SELECT region, sum(amount) FROM orders GROUP BY region
    format: csv
    csvHeader: true
    interval: { every: 1h, offset: 5m }
    overlap: buffer_one
    catchupWindow: 2h
    paused: true
    note: waiting for the revenue model
    taskQueue: exports-eu
`,
    );
    assert.equal(file.scheduleSet, 'analytics');
    assert.equal(file.entries.length, 2);
    const [a, b] = file.entries;
    assert.deepEqual(a.input, {
      exportName: 'orders-daily',
      connectionName: 'demo_s3',
      object: 'public.orders',
      bucket: 'acme-exports',
      prefix: 'exports',
      format: 'parquet',
      maxFileSize: '256MB',
    });
    assert.deepEqual(a.cron, ['0 3 * * *']);
    assert.equal(a.interval, undefined);
    assert.equal(a.timezone, 'Europe/Berlin');
    assert.equal(a.jitterMs, 300_000);
    assert.equal(a.catchupWindowMs, 86_400_000, 'default catch-up window is one day');
    assert.equal(a.overlap, 'skip', 'default overlap policy is skip');
    assert.equal(a.paused, false);
    assert.equal(a.pauseOnFailure, false);
    assert.equal(a.taskQueue, undefined);

    assert.deepEqual(b.interval, { everyMs: 3_600_000, offsetMs: 300_000 });
    assert.ok(b.kind === 'export');
    assert.equal(b.input!.query, 'SELECT region, sum(amount) FROM orders GROUP BY region');
    assert.equal(b.input!.csvHeader, true);
    assert.equal(b.overlap, 'bufferOne');
    assert.equal(b.catchupWindowMs, 7_200_000);
    assert.equal(b.paused, true);
    assert.equal(b.note, 'waiting for the revenue model');
    assert.equal(b.taskQueue, 'exports-eu');
    assert.equal(b.timezone, 'UTC');
  });

  it('reads JSON with the same rules', () => {
    const file = parseScheduleFile(
      JSON.stringify({
        exports: [
          { name: 'x', connectionName: 'c', object: 't', bucket: 'acme-exports', prefix: 'p', format: 'csv', interval: '15m' },
        ],
      }),
      'schedules.json',
    );
    assert.equal(file.scheduleSet, 'default');
    assert.deepEqual(file.entries[0].interval, { everyMs: 900_000, offsetMs: 0 });
    assert.match(problemsOf('{"exports": [', 'schedules.json'), /not valid JSON/);
  });

  it('reports every problem at once, each with the line, the entry and the field', () => {
    const msg = problemsOf(
      BASE +
        `  - name: good
    object: public.orders
    format: csv
    cron: "0 3 * * *"
  - name: bad-one
    object: public.orders
    format: xml
    cron: "0 3 * *"
    timezone: Mars/Olympus
  - name: bad-two
    query: SELECT 1
    object: t
    format: csv
    interval: 90 minutes
    jitter: 5
    overlap: sometimes
    paused: true
  - name: good
    object: t
    format: csv
    cronn: "* * * * *"
`,
    );
    assert.match(msg, /schedules\.yaml:\d+: exports\[1\] "bad-one": format: "xml" is not supported/);
    assert.match(msg, /schedules\.yaml:16: exports\[1\] "bad-one": cron: "0 3 \* \*" has 4 fields/);
    assert.match(msg, /schedules\.yaml:17: exports\[1\] "bad-one": timezone: "Mars\/Olympus" is not an IANA time zone/);
    assert.match(msg, /exports\[2\] "bad-two": object: give exactly one/);
    assert.match(msg, /exports\[2\] "bad-two": interval: every: "90 minutes" is not a duration/);
    assert.match(msg, /exports\[2\] "bad-two": jitter: 5 is not a duration/);
    assert.match(msg, /exports\[2\] "bad-two": overlap: "sometimes" must be one of skip, bufferOne/);
    assert.match(msg, /schedules\.yaml:25: exports\[2\] "bad-two": note: is required when paused: true/);
    assert.match(msg, /exports\[3\] "good": unknown field "cronn"; did you mean cron\?/);
    assert.match(msg, /exports\[3\] "good": cron: give exactly one of cron/);
    assert.match(msg, /exports\[3\] "good": name: "good" is already used by exports\[0\]/);
  });

  it('rejects what the export input rejects, and a logicalTime', () => {
    const msg = problemsOf(
      `exports:
  - name: x
    connectionName: c
    object: "bad name"
    bucket: Not_A_Bucket
    prefix: /abs
    format: csv
    maxFileSize: 1MB
    logicalTime: 2024-01-01T00:00:00Z
    interval: 1h
`,
    );
    assert.match(msg, /exports\[0\] "x": object: /);
    assert.match(msg, /exports\[0\] "x": bucket: /);
    assert.match(msg, /exports\[0\] "x": prefix: /);
    assert.match(msg, /exports\[0\] "x": maxFileSize: /);
    assert.match(msg, /logicalTime cannot be set in a schedule/);
  });

  it('reads an entry with members as a snapshot set, with a cluster; member problems name the member', () => {
    const file = parseScheduleFile(
      BASE +
        `  - name: sales-snapshot
    cluster: exports
    maxParallel: 2
    members:
      - { name: orders, object: public.orders, format: parquet }
      - { name: totals, query: "SELECT customer, sum(amount) FROM public.orders GROUP BY customer", format: csv }
    cron: "0 * * * *"
`,
    );
    const [set] = file.entries;
    assert.ok(set.kind === 'set');
    assert.equal(set.input.setName, 'sales-snapshot');
    assert.equal(set.input.cluster, 'exports');
    assert.equal(set.input.maxParallel, 2);
    assert.deepEqual(set.input.members.map((m) => m.name), ['orders', 'totals']);

    const problems = problemsOf(
      BASE +
        `  - name: bad-set
    object: public.orders
    retention: {keepLast: 3}
    members:
      - { name: orders, object: public.orders, format: xml }
      - { name: orders, object: public.orders, format: csv }
    cron: "0 * * * *"
  - name: plain
    object: public.orders
    format: csv
    maxParallel: 2
    cron: "0 * * * *"
`,
    );
    assert.match(problems, /"bad-set": object: belongs in each member of a snapshot set/);
    // retention on a set is fine (expiry takes its members/ folders with it); this file only lacks an expiry block.
    assert.doesNotMatch(problems, /"bad-set": retention:/);
    assert.match(problems, /"bad-set": members: members\[0\]\.format: "xml" is not supported/);
    assert.match(problems, /"bad-set": members: members\[1\]\.name: "orders" is used by an earlier member/);
    assert.match(problems, /"plain": maxParallel: is for snapshot sets only/);
  });

  it('rejects a bad top level', () => {
    assert.match(problemsOf('exports: []'), /exports: must be a non-empty list/);
    assert.match(problemsOf('- a\n- b'), /must be a mapping with an "exports" list/);
    assert.match(problemsOf('version: 2\nexport: []'), /:1: version: 2 is not supported[\s\S]*:2: unknown top-level field "export"/);
    assert.match(problemsOf('a: 1\na: 2'), /not valid YAML[\s\S]*unique/);
    assert.match(problemsOf(BASE.replace('prefix: exports', 'name: x\n  prefix: exports') + '  - {name: y, object: t, format: csv, interval: 1h}'), /defaults: name cannot have a default/);
  });

  it('validates a document built in code', () => {
    assert.throws(
      () => validateScheduleDocument({ exports: [{ name: 'x', interval: '1h' }] }),
      /schedule definitions: exports\[0\] "x": connectionName: /,
    );
  });

  it('interval rules', () => {
    const one = (interval: string) =>
      problemsOf(`exports:\n  - {name: x, connectionName: c, object: t, bucket: acme-exports, prefix: p, format: csv, interval: ${interval}}`);
    assert.match(one('500ms'), /every must be a whole number of seconds, at least 1s/);
    assert.match(one('{every: 1h, offset: 1h}'), /offset must be whole seconds and shorter than every/);
    assert.match(one('{every: 1h, at: 5m}'), /unknown field "at"; use every and offset/);
  });
});

describe('durations', () => {
  it('parses d h m s ms parts and formats back to the shortest exact form', () => {
    assert.deepEqual(parseDuration('1h30m'), { ms: 5_400_000 });
    assert.deepEqual(parseDuration('1d'), { ms: 86_400_000 });
    assert.deepEqual(parseDuration('250ms'), { ms: 250 });
    assert.deepEqual(parseDuration(' 10s '), { ms: 10_000 });
    for (const bad of ['', '5', '1 hour', '1h 30m', '-1s', '1.5h', 'h', 5, null]) {
      assert.ok('problem' in parseDuration(bad), `${JSON.stringify(bad)} must be rejected`);
    }
    assert.equal(formatDuration(5_400_000), '1h30m');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(90_061_001), '1d1h1m1s1ms');
  });
});

describe('cron expressions', () => {
  it('accepts what Temporal accepts', () => {
    for (const ok of ['0 3 * * *', '*/15 * * * *', '0 12 * * MON-WED,FRI', '0 0 1 JAN *', '30 2 * * 1-5 2030', '0 0 3 * * * *', '@daily', '@hourly', '0 3 * * * # nightly', '0 0 * * 7']) {
      assert.equal(cronProblem(ok), undefined, ok);
    }
  });
  it('names the field that is wrong', () => {
    assert.match(cronProblem('0 3 * *')!, /has 4 fields/);
    assert.match(cronProblem('60 3 * * *')!, /minute field "60" has "60", not a value in 0..59/);
    assert.match(cronProblem('0 24 * * *')!, /hour field/);
    assert.match(cronProblem('0 3 * FOO *')!, /month field "FOO".*JAN..DEC/);
    assert.match(cronProblem('0 3 * * MON/0')!, /step of 0/);
    assert.match(cronProblem('@every 5m')!, /use the entry's interval field/);
    assert.match(cronProblem('CRON_TZ=Europe/Berlin 0 3 * * *')!, /timezone field/);
    assert.match(cronProblem('@sometimes')!, /not one of @yearly/);
    assert.match(cronProblem('')!, /not a cron expression/);
  });
});

describe('overlap policies', () => {
  it('accepts the spellings people use', () => {
    assert.equal(parseOverlap('skip'), 'skip');
    assert.equal(parseOverlap('BUFFER_ALL'), 'bufferAll');
    assert.equal(parseOverlap('allow-all'), 'allowAll');
    assert.equal(parseOverlap('terminateOther'), 'terminateOther');
    assert.equal(parseOverlap('never'), undefined);
  });
});

describe('examples/schedules.yaml', () => {
  it('is valid', () => {
    const file = path.join(__dirname, '..', '..', 'examples', 'schedules.yaml');
    const parsed = parseScheduleFile(fs.readFileSync(file, 'utf8'), 'examples/schedules.yaml');
    assert.ok(parsed.entries.length >= 2);
  });
});

describe('schedule file: retention and the expiry schedule', () => {
  const entries = `  - name: orders-daily
    object: public.orders
    format: parquet
    cron: "0 3 * * *"
    retention: { keepLast: 30 }
  - name: revenue
    query: SELECT 1
    format: csv
    prefix: other
    interval: 1h
    retention: { keepLast: 24, keepWithin: 14d }
  - name: no-rule
    object: public.items
    format: csv
    cron: "0 4 * * *"
`;

  it('an expiry block becomes one schedule over every entry with a rule, starting expireExports with apply', () => {
    const file = parseScheduleFile(BASE + entries + 'expiry:\n  cron: "30 4 * * *"\n  recentWriteSeconds: 600\n');
    assert.equal(file.entries.length, 4);
    const expiry = file.entries[3];
    assert.equal(expiry.name, 'expire:analytics');
    assert.deepEqual(expiry.expire, {
      targets: [
        { bucket: 'acme-exports', prefix: 'exports', name: 'orders-daily', keepLast: 30 },
        { bucket: 'acme-exports', prefix: 'other', name: 'revenue', keepLast: 24, keepWithin: '14d' },
      ],
      apply: true,
      recentWriteSeconds: 600,
    });
    assert.deepEqual(expiry.cron, ['30 4 * * *']);
    assert.deepEqual(file.entries[0].retention, { keepLast: 30 });
    const options = desiredSchedule(expiry, 'analytics', 'mz-s3-export');
    assert.equal(options.scheduleId, 'mz-s3-export:expire:analytics');
    assert.equal(options.action.type === 'startWorkflow' && options.action.workflowType, expireExports);
    assert.deepEqual(options.action.type === 'startWorkflow' && options.action.args, [expiry.expire]);
    assert.match(describeEntry(expiry), /expire old logical times of orders-daily \(keep the last 30 published logical time\(s\)\), revenue/);
    assert.equal(toScheduleId('expire:analytics'), 'mz-s3-export:expire:analytics');
    assert.equal(toScheduleId('mz-s3-export:expire:analytics'), 'mz-s3-export:expire:analytics');
  });

  it('says what to change: retention without expiry, expiry without retention, bad rules and expiry fields', () => {
    assert.match(problemsOf(BASE + entries), /"orders-daily", "revenue" set retention, but the file has no expiry schedule; add e\.g\. expiry: \{cron/);
    assert.match(
      problemsOf(BASE + '  - name: a\n    object: x\n    format: csv\n    cron: "0 3 * * *"\nexpiry:\n  cron: "0 4 * * *"\n'),
      /expiry: no export sets retention/,
    );
    const bad = problemsOf(
      BASE +
        '  - name: a\n    object: x\n    format: csv\n    cron: "0 3 * * *"\n    retention: { keepLast: 0, keepWithin: forever, keep: 1 }\n' +
        'expiry:\n  cron: "0 4 * *"\n  paused: true\n  recentWriteSeconds: -1\n  when: daily\n',
    );
    for (const text of [
      'exports[0] "a": retention: unknown field "keep"',
      'exports[0] "a": retention: keepLast: 0 must be a whole number',
      'exports[0] "a": retention: keepWithin: "forever" is not a duration',
      'expiry: cron: "0 4 * *" has 4 fields',
      'expiry: note: is required when paused: true',
      'expiry: when: unknown field',
    ])
      assert.ok(bad.includes(text), `${text} in:\n${bad}`);
  });
});
