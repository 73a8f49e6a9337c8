import { strict as assert } from 'node:assert';
import { closest, parseArgs, UsageError } from '../../client/args';
import { options as exportOptions } from '../../client/commands/export';
import { concurrencyFlag, options as scheduleOptions } from '../../client/commands/schedules';

describe('CLI argument parsing (node:util parseArgs, strict, per command)', () => {
  it('reads positionals, --k v, --k=v and boolean flags', () => {
    const a = parseArgs(['export', '--name', 'n', '--format=csv', '--json', 'extra'], exportOptions);
    assert.deepEqual(a.positionals, ['export', 'extra']);
    assert.deepEqual(a.flags, { name: 'n', format: 'csv', json: true });
  });

  it('names every unknown option with the closest known one, instead of ignoring it', () => {
    assert.throws(
      () => parseArgs(['export', '--name', 'n', '--frmat', 'csv', '--hedaer'], exportOptions),
      (e: Error) =>
        e instanceof UsageError &&
        /unknown options --frmat \(did you mean --format\?\), --hedaer \(did you mean --header\?\) for 'export'/.test(e.message) &&
        /mz-s3-export export --help/.test(e.message),
    );
    assert.throws(() => parseArgs(['export', '--colour'], exportOptions), /unknown option --colour for 'export'; /);
  });

  it('a string option needs its value and a boolean takes none', () => {
    assert.throws(() => parseArgs(['export', '--name'], exportOptions), (e: Error) => e instanceof UsageError && /--name/.test(e.message));
    assert.throws(() => parseArgs(['export', '--json=yes'], exportOptions), (e: Error) => e instanceof UsageError && /--json/.test(e.message));
  });

  it("each subcommand takes only its own options: 'schedules pause' has no --wait", () => {
    assert.equal(parseArgs(['schedules', 'trigger', 'x', '--wait'], scheduleOptions('trigger')).flags.wait, true);
    assert.throws(() => parseArgs(['schedules', 'pause', 'x', '--wait'], scheduleOptions('pause'), 'schedules pause'), /unknown option --wait for 'schedules pause'/);
    assert.equal(parseArgs(['schedules', 'apply', '-f', 'a.yaml'], scheduleOptions('apply')).flags.file, 'a.yaml');
  });

  it('schedules plan and apply take --concurrency as a whole number from 1 to 256', () => {
    const parse = (v: string) => concurrencyFlag(parseArgs(['schedules', 'apply', '-f', 'a.yaml', '--concurrency', v], scheduleOptions('apply')));
    assert.equal(parse('64'), 64);
    for (const bad of ['0', '-3', '1.5', '257', 'lots']) assert.throws(() => parse(bad), (e: Error) => e instanceof UsageError && /--concurrency/.test(e.message), bad);
    assert.equal(concurrencyFlag(parseArgs(['schedules', 'plan', '-f', 'a.yaml'], scheduleOptions('plan'))), undefined);
    assert.throws(() => parseArgs(['schedules', 'list', '--concurrency', '4'], scheduleOptions('list'), 'schedules list'), /unknown option --concurrency/);
  });

  it('suggests only near names', () => {
    assert.equal(closest('conection', ['connection', 'object']), 'connection');
    assert.equal(closest('xyz', ['connection', 'object']), undefined);
  });
});
