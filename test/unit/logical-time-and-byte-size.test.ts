import { strict as assert } from 'node:assert';
import { logicalTimeProblem, parseLogicalTime } from '../../common/export/logical-time';
import { formatByteSize, parseByteSize } from '../../common/sql/byte-size';

const ms = (v: string) => {
  const r = parseLogicalTime(v);
  return 'ms' in r ? r.ms : r.problem;
};

describe('logical times are exact instants or refused', () => {
  it('reads valid instants in every accepted spelling to the same millisecond', () => {
    const t = Date.UTC(2024, 4, 1, 12, 0, 0, 0);
    for (const v of ['2024-05-01T12:00:00Z', '2024-05-01T12:00Z', '2024-05-01t12:00:00.000z', '2024-05-01T14:00:00+02:00', '2024-05-01T07:00:00-0500', '2024-05-01T12:00:00.000000Z'])
      assert.equal(ms(v), t, v);
    assert.equal(ms('2024-02-29T00:00:00.123Z'), Date.UTC(2024, 1, 29, 0, 0, 0, 123));
  });

  it('refuses dates and times a Date would roll over or truncate into another folder', () => {
    const cases: [string, RegExp][] = [
      ['2024-02-30T00:00:00Z', /day 30, but 2024-02 has 29 days/],
      ['2023-02-29T00:00:00Z', /2023-02 has 28 days/],
      ['2024-04-31T00:00:00Z', /has 30 days/],
      ['2024-13-01T00:00:00Z', /month 13/],
      ['2024-01-01T24:00:00Z', /hour 24.*next day's 00:00/],
      ['2024-01-01T00:60:00Z', /minute 60/],
      ['2024-01-01T00:00:60Z', /second 60/],
      ['2024-01-01T00:00:00.0009Z', /more precise than a millisecond/],
      ['2024-01-01T00:00:00.123456789Z', /more precise than a millisecond/],
      ['2024-01-01T00:00:00+24:00', /offset \+24:00/],
      ['2024-01-01T00:00:00', /with a zone/],
      ['0999-12-31T23:59:59Z', /years 1000 to 9999/],
    ];
    for (const [v, re] of cases) assert.match(logicalTimeProblem(v) ?? '(accepted)', re, v);
  });
});

describe("byte sizes are read with Materialize's grammar (src/repr/src/bytes.rs)", () => {
  const bytes = (v: unknown) => {
    const r = parseByteSize(v);
    return 'bytes' in r ? r.bytes : r.problem;
  };

  it('reads case-sensitive units, white space before the unit, no unit, and fractions as from_str does', () => {
    assert.equal(bytes('256MB'), 256 * 2 ** 20);
    assert.equal(bytes('16384kB'), 16 * 2 ** 20);
    assert.equal(bytes('3 MB'), 3 * 2 ** 20);
    assert.equal(bytes('1TB'), 2 ** 40);
    assert.equal(bytes('16777216'), 2 ** 24);
    assert.equal(bytes('1.5kB'), 1536);
    assert.equal(bytes('9.9'), 10);
    assert.equal(bytes('.5MB'), 512 * 1024);
    assert.equal(bytes('5.MB'), 5 * 2 ** 20);
    assert.equal(bytes('30.1MB'), 30822 * 1024, "bytes.rs: 30.1MB rounds to 30822kB");
  });

  it('refuses what Materialize refuses or reads oddly, saying what to write', () => {
    assert.match(bytes('16384KB') as string, /case-sensitive; write "16384kB"/);
    assert.match(bytes('1gb') as string, /case-sensitive; write "1GB"/);
    assert.match(bytes('256MiB') as string, /"MiB" is not a unit/);
    for (const v of [' 256MB', '256MB ', '1 2MB', '-1MB', '1.2.3MB', '.MB', 'MB', '', 256, null]) assert.equal(typeof bytes(v), 'string', String(v));
  });

  it('renders like ByteSize::format_string, and the rendering reads back to the same size', () => {
    assert.equal(formatByteSize(2 ** 30), '1GB');
    assert.equal(formatByteSize(1536 * 2 ** 20), '1536MB');
    assert.equal(formatByteSize(10240), '10kB');
    assert.equal(formatByteSize(215), '215B');
    for (const b of [1, 1023, 1024, 16 * 2 ** 20, 3 * 2 ** 30 + 5, 2 ** 42]) assert.equal(bytes(formatByteSize(b)), b);
  });
});
