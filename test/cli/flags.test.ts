import t from 'tap';
import { parseFlags, UsageError, type VerbSpec } from '../../src/cli/flags.js';
import { specs } from '../../src/cli/verbs.js';
import { verbHelp } from '../../src/cli/help.js';
import { ramInBytes } from '../../src/cli/units.js';

const spec = (name: string): VerbSpec => specs.find((s) => s.name === name)!;
const run = spec('run');

t.test('long flags: --name=x, --name x, switches, --rm=false', async (t) => {
  const a = parseFlags(run, ['--name=web', '--memory', '512m', '--rm', '--detach=false', 'busybox']);
  t.equal(a.value('name'), 'web');
  t.equal(a.value('memory'), 512 * 1024 ** 2, 'parsed by the flag\'s parser');
  t.equal(a.bool('rm'), true);
  t.equal(a.bool('detach'), false);
  t.ok(a.given('detach'), '--detach=false was given');
  t.notOk(a.given('tty'));
  t.same(a.operands, ['busybox']);
  t.equal(parseFlags(spec('logs'), ['--since', '-5m', 't']).given('since'), true, 'a value may start with a dash, as in pflag');
  t.throws(() => parseFlags(run, ['--name=', 'x']), { code: 'ERR_USAGE', message: /invalid task id ""/ }, 'an empty name breaks the id rule');
});

t.test('short flags: -e K=V, -eK=V, -e=K=V, combined switches -it and -dit, a value after a group', async (t) => {
  const a = parseFlags(run, ['-e', 'A=1', '-eB=2', '-e=C=3', '-dit', 'sh']);
  t.same(a.list('env'), ['A=1', 'B=2', 'C=3'], 'repeated list flags keep their order');
  t.ok(a.bool('detach') && a.bool('interactive') && a.bool('tty'));
  const b = parseFlags(run, ['-ite', 'X=1', 'sh']);
  t.ok(b.bool('interactive') && b.bool('tty'));
  t.same(b.list('env'), ['X=1'], 'the last flag of a group takes the next argument');
  const c = parseFlags(run, ['-itm64m', 'sh']);
  t.equal(c.value('memory'), 64 * 1024 ** 2, 'or the rest of the group');
  t.equal(parseFlags(run, ['-d=false', 'sh']).bool('detach'), false);
});

t.test('run and exec stop at the first operand; other verbs take flags anywhere', async (t) => {
  const a = parseFlags(run, ['--rm', 'busybox', 'sh', '-c', 'ls -l', '--rm']);
  t.same(a.operands, ['busybox', 'sh', '-c', 'ls -l', '--rm'], '-c and --rm belong to the command');
  const e = parseFlags(spec('exec'), ['-i', 'task', 'ls', '-la']);
  t.same(e.operands, ['task', 'ls', '-la']);
  const k = parseFlags(spec('kill'), ['a', '-s', 'TERM', 'b']);
  t.same(k.operands, ['a', 'b']);
  t.equal(k.value('signal'), 15);
  t.equal(parseFlags(spec('kill'), ['a']).value('signal'), 9, 'the default is parsed too');
  t.notOk(parseFlags(spec('kill'), ['a']).given('signal'));
});

t.test('-- ends the flags; - is an operand', async (t) => {
  t.same(parseFlags(run, ['--rm', '--', '-x', '--y']).operands, ['-x', '--y']);
  t.same(parseFlags(spec('kill'), ['--', '-s']).operands, ['-s']);
  t.same(parseFlags(spec('rm'), ['-', '-f']).operands, ['-']);
});

t.test('--help and -h on a verb; errors before help, help before operand counts', async (t) => {
  t.ok(parseFlags(run, ['--help']).help, 'no operand needed for help');
  t.ok(parseFlags(spec('ps'), ['-h']).help, '-h is help where the verb has no -h');
  t.ok(parseFlags(spec('kill'), ['x', '--help']).help);
  t.notOk(parseFlags(run, ['busybox', '--help']).help, 'after the command, --help is the command\'s');
  t.throws(() => parseFlags(run, ['--help', '--bogus']), { message: 'unknown flag: --bogus' });
});

t.test('errors are docker\'s, typed ERR_USAGE, naming the command', async (t) => {
  const cases: Array<[VerbSpec, string[], string]> = [
    [run, ['--bogus'], 'unknown flag: --bogus'],
    [run, ['--bogus=1'], 'unknown flag: --bogus'],
    [run, ['-x'], "unknown shorthand flag: 'x' in -x"],
    [run, ['-dx'], "unknown shorthand flag: 'x' in -x"],
    [run, ['-e'], "flag needs an argument: 'e' in -e"],
    [run, ['-ie'], "flag needs an argument: 'e' in -e"],
    [run, ['--name'], 'flag needs an argument: --name'],
    [run, ['---x'], 'bad flag syntax: ---x'],
    [run, ['--=x'], 'bad flag syntax: --=x'],
    [run, ['--memory=12q', 'x'], 'invalid argument "12q" for "-m, --memory" flag: invalid size: \'12q\''],
    [run, ['--rm=yes', 'x'], 'invalid argument "yes" for "--rm" flag: strconv.ParseBool: parsing "yes": invalid syntax'],
    [run, ['--cpus', '-0.5', 'x'], 'invalid argument "-0.5" for "--cpus" flag: failed to parse -0.5 as a rational number'],
    [run, [], '"taskio run" requires at least 1 argument.'],
    [run, ['--rootfs', '/a', '--bundle', '/b', 'x'], 'conflicting options: --rootfs and --bundle'],
    [spec('exec'), ['task'], '"taskio exec" requires at least 2 arguments.'],
    [spec('attach'), [], '"taskio attach" requires exactly 1 argument.'],
    [spec('attach'), ['a', 'b'], '"taskio attach" requires exactly 1 argument.'],
    [spec('ps'), ['x'], '"taskio ps" accepts no arguments.'],
    [spec('help'), ['a', 'b'], '"taskio help" requires at most 1 argument.'],
    [spec('kill'), ['-s', 'NOPE', 'x'], 'invalid argument "NOPE" for "-s, --signal" flag: invalid signal: NOPE'],
    [spec('stop'), ['-t', '1.5', 't'], 'invalid argument "1.5" for "-t, --time" flag: strconv.ParseInt: parsing "1.5": invalid syntax'],
    [run, ['--detach-keys', 'ctrl-1', 'x'], 'invalid argument "ctrl-1" for "--detach-keys" flag: unknown character: \'ctrl-1\''],
  ];
  for (const [s, argv, message] of cases) {
    const err = t.throws(() => parseFlags(s, argv), { code: 'ERR_USAGE', message }, `${s.name} ${argv.join(' ')}`) as unknown;
    t.ok(err instanceof UsageError && err.command === `taskio ${s.name}`, 'names the command');
  }
});

t.test('a value parser\'s error is kept as the cause', async (t) => {
  const err = t.throws(() => parseFlags(run, ['-m', 'big', 'x'])) as Error;
  t.match(err.cause, { code: 'ERR_INVALID_SIZE' });
});

t.test('a repeated string flag keeps the last value; -e K left out when K is unset here', async (t) => {
  t.equal(parseFlags(run, ['--name', 'a', '--name', 'b', 'x']).value('name'), 'b');
  delete process.env['TASKIO_TEST_UNSET'];
  process.env['TASKIO_TEST_SET'] = 'v';
  t.teardown(() => delete process.env['TASKIO_TEST_SET']);
  t.same(parseFlags(run, ['-e', 'TASKIO_TEST_UNSET', '-e', 'TASKIO_TEST_SET', 'x']).list('env'), ['TASKIO_TEST_SET=v']);
});

t.test('a spec with its own -h keeps it; parse gets every value', async (t) => {
  const s: VerbSpec = { name: 'x', usage: '', summary: '', operands: { min: 0 }, flags: [{ name: 'host', short: 'h', kind: 'string', description: '', parse: ramInBytes }] };
  const a = parseFlags(s, ['-h', '1k']);
  t.notOk(a.help);
  t.equal(a.value('host'), 1024);
});

t.test('an alias is the flag under another long name (docker\'s --net for --network), not listed by --help', async (t) => {
  const a = parseFlags(run, ['--net', 'host', 'x']);
  t.equal(a.value('network'), 'host');
  t.ok(a.given('network'), 'given as the flag itself');
  t.equal(parseFlags(run, ['--network', 'host', '--net=none', 'x']).value('network'), 'none', 'one flag: the last value wins');
  t.throws(() => parseFlags(run, ['--net', 'bridge', 'x']), { code: 'ERR_USAGE', message: /^invalid argument "bridge" for "--network" flag: network mode "bridge" is not supported \(supported: none, host\)$/ });
  const help = verbHelp(run);
  t.match(help, /\n {6}--network network +Connect the task to a network/);
  t.notMatch(help, /--net\b(?!work)/);
});
