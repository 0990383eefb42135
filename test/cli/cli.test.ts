import t from 'tap';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { Collector, repoRoot } from '../helpers/common.js';
import { main, type CommandIO } from '../../src/cli/command.js';
import { inProcess } from './inProcess.js';
import { specs, verbs } from '../../src/cli/verbs.js';
import { client, daemonRoot } from '../daemon/helpers.js';

// The built command (npm test builds first), run as a user would: through its shebang.
const cli = path.join(repoRoot, 'dist/cli/taskio.cjs');
const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const taskio = (...args: string[]) => spawnSync(cli, args, { encoding: 'utf8', env: { ...process.env, TASKIO_DEBUG: '' } });

t.test('the installed command: version, help, an unknown verb exits 125 with one line', { timeout: 60_000 }, async (t) => {
  const v = taskio('--version');
  t.equal(v.status, 0);
  t.equal(v.stdout, `${version}\n`);
  t.equal(taskio('-v').stdout, `${version}\n`);
  const h = taskio('help');
  t.equal(h.status, 0);
  t.match(h.stdout, /^\nUsage: {2}taskio \[OPTIONS\] COMMAND\n/);
  for (const s of specs) t.match(h.stdout, new RegExp(`\\n  ${s.name} +${s.summary.replace(/[()]/g, '\\$&')}\\n`), `lists ${s.name}`);
  t.equal(taskio().stdout, h.stdout, 'no verb prints the help');
  const bad = taskio('bogus');
  t.equal(bad.status, 125);
  t.equal(bad.stdout, '');
  t.equal(bad.stderr, "taskio: 'bogus' is not a taskio command. See 'taskio --help'.\n");
  const flag = taskio('--bogus');
  t.equal(flag.status, 125);
  t.equal(flag.stderr, "taskio: unknown flag: --bogus. See 'taskio --help'.\n");
});

t.test('a usage error is one line naming the problem, exit 125, before any daemon is asked', { timeout: 60_000 }, async (t) => {
  const usage = taskio('run');
  t.equal(usage.status, 125);
  t.equal(usage.stderr, `taskio run: "taskio run" requires at least 1 argument. See 'taskio run --help'.\n`);
  // A usage error, so that no daemon is asked (none is started on the default root).
  const debug = spawnSync(cli, ['kill', '-s', 'NOPE', 'x'], { encoding: 'utf8', env: { ...process.env, TASKIO_DEBUG: '1' } });
  t.equal(debug.status, 125);
  t.match(debug.stderr, /^taskio kill: invalid argument "NOPE" for "-s, --signal" flag: invalid signal: NOPE\. See 'taskio kill --help'\.\n/);
  t.match(debug.stderr, /\n {4}at /, 'TASKIO_DEBUG=1 adds the stack');
  t.match(debug.stderr, /code: 'ERR_USAGE'/);
});

t.test('every verb has --help and help VERB, in docker\'s layout', async (t) => {
  for (const s of specs) {
    const a = await inProcess([s.name, '--help']);
    t.equal(a.code, 0, `${s.name} --help`);
    t.equal(a.stderr, '');
    t.ok(a.stdout.startsWith(`\nUsage:  taskio ${s.name}`), `${s.name}: usage line`);
    t.match(a.stdout, `\n\n${s.summary}\n`);
    for (const f of s.flags) t.match(a.stdout, `--${f.name}`, `${s.name}: documents --${f.name}`);
    const b = await inProcess(['help', s.name]);
    t.equal(b.code, 0);
    t.equal(b.stdout, a.stdout, `help ${s.name} is ${s.name} --help`);
  }
  const unknown = await inProcess(['help', 'bogus']);
  t.equal(unknown.code, 125);
  t.equal(unknown.stderr, "taskio help: unknown help topic: bogus. See 'taskio help --help'.\n");
});

t.test('run --help shows the flags aligned as pflag does', async (t) => {
  const { stdout } = await inProcess(['kill', '--help']);
  t.equal(stdout, '\nUsage:  taskio kill [OPTIONS] TASK [TASK...]\n\nKill one or more running tasks\n\nAliases:\n  taskio container kill, taskio kill\n\nOptions:\n'
    + '  -s, --signal string   Signal to send to the task (default "KILL")\n');
  const stop = await inProcess(['stop', '-h']);
  t.match(stop.stdout, '  -t, --time int        Seconds to wait before killing the task (default: its --stop-timeout, else 10)\n');
});

t.test('every verb of issue 10 is in the table, with docker\'s start, restart, events, update and cp', async (t) => {
  const issue10 = ['run', 'attach', 'logs', 'exec', 'ps', 'inspect', 'top', 'stats', 'kill', 'stop', 'wait', 'rm', 'pause', 'unpause', 'daemon', 'version', 'help'];
  t.same(Object.keys(verbs).sort(), [...issue10, 'start', 'restart', 'events', 'update', 'create', 'prune', 'info', 'cp'].sort());
});

t.test('usage errors: one line naming the value, exit 125', async (t) => {
  const cases: Array<[string[], string]> = [
    [['run', '--bogus', 'x'], "taskio run: unknown flag: --bogus. See 'taskio run --help'.\n"],
    [['run', '-e'], "taskio run: flag needs an argument: 'e' in -e. See 'taskio run --help'.\n"],
    [['run', '-m', '1q', 'x'], `taskio run: invalid argument "1q" for "-m, --memory" flag: invalid size: '1q'. See 'taskio run --help'.\n`],
    [['kill', '-s', 'NOPE', 't'], `taskio kill: invalid argument "NOPE" for "-s, --signal" flag: invalid signal: NOPE. See 'taskio kill --help'.\n`],
    [['ps', 'x'], `taskio ps: "taskio ps" accepts no arguments. See 'taskio ps --help'.\n`],
    [['attach'], `taskio attach: "taskio attach" requires exactly 1 argument. See 'taskio attach --help'.\n`],
  ];
  for (const [argv, line] of cases) {
    const r = await inProcess(argv);
    t.equal(r.code, 125, argv.join(' '));
    t.equal(r.stderr, line);
    t.equal(r.stdout, '');
  }
});

t.test('version: the client part, then the daemon\'s; without a daemon, the client part and one line, 125, and none started', { timeout: 60_000 }, async (t) => {
  const clientPart = new RegExp(`^Client:\\n Version: {11}${version.replace(/\./g, '\\.')}\\n Node\\.js version: {3}v\\d+[^\\n]*\\n OS/Arch: {11}linux/\\w+\\n`);
  const root = daemonRoot(t);
  const c = await client(root);
  t.teardown(() => c.close());
  const v = await c.version();
  const up = await inProcess(['version'], verbs, { TASKIO_ROOT: root });
  t.equal(up.code, 0);
  t.match(up.stdout, clientPart);
  t.match(up.stdout, new RegExp(`\\n\\nServer:\\n Version: {11}${version.replace(/\./g, '\\.')}\\n API version: {7}1\\n Node\\.js version: {3}v\\d+[^\\n]*\\n Root: {14}${root}\\n Pid: {15}${v.pid}\\n Runtimes: {10}[^\\n]*host\\n$`));
  const none = path.join(root, 'no-daemon-here');
  const down = await inProcess(['version'], verbs, { TASKIO_ROOT: none });
  t.equal(down.code, 125);
  t.match(down.stdout, clientPart);
  t.equal(down.stdout.includes('Server:'), false);
  t.equal(down.stderr, `taskio version: cannot connect to the taskio daemon at ${none}/taskio.sock: is it running? (taskio daemon, or any other command, starts it)\n`);
  t.notOk(fs.existsSync(none), 'asking started no daemon');
});

t.test('docker\'s management commands: container and system run the same verbs, named as typed', { timeout: 60_000 }, async (t) => {
  const group = await inProcess(['container']);
  t.equal(group.code, 0);
  t.match(group.stdout, /^\nUsage:  taskio container COMMAND\n\nManage tasks\n\nCommands:\n  attach {6}Attach /);
  t.match(group.stdout, /\n  ls {10}List tasks\n/);
  t.notMatch(group.stdout, /\n  (list|ps|remove|daemon|version) /, 'aliases and verbs of no group are not listed');
  t.equal((await inProcess(['container', '--help'])).stdout, group.stdout);
  t.equal((await inProcess(['help', 'container'])).stdout, group.stdout);
  t.match((await inProcess(['system'])).stdout, /Commands:\n  events {6}[^\n]*\n  info {8}[^\n]*\n  prune {7}[^\n]*\n\nRun 'taskio system COMMAND --help'/);
  t.match((await inProcess(['--help'])).stdout, /\n\nManagement Commands:\n  container   Manage tasks\n  system      Manage taskio\n\nCommands:\n/);

  const ls = await inProcess(['container', 'ls', '--help']);
  t.match(ls.stdout, /^\nUsage:  taskio container ls \[OPTIONS\]\n\nList tasks\n\nAliases:\n  taskio container ls, taskio container list, taskio container ps, taskio ps\n\nOptions:\n/);
  t.equal((await inProcess(['ps', '--help'])).stdout, ls.stdout.replace('taskio container ls [OPTIONS]', 'taskio ps [OPTIONS]'), 'ps --help differs in its usage line only');
  t.match((await inProcess(['run', '--help'])).stdout, /\nAliases:\n  taskio container run, taskio run\n/);
  t.notMatch((await inProcess(['daemon', '--help'])).stdout, /Aliases:/, 'a verb of no group has no aliases');

  const refused: Array<[string[], string]> = [
    [['container', 'commit'], "taskio container: 'commit' is not a taskio container command. See 'taskio container --help'.\n"],
    [['system', 'df'], "taskio system: 'df' is not a taskio system command. See 'taskio system --help'.\n"],
    [['container', 'ls', 'x'], `taskio container ls: "taskio container ls" accepts no arguments. See 'taskio container ls --help'.\n`],
    [['container', 'remove'], `taskio container remove: "taskio container remove" requires at least 1 argument. See 'taskio container remove --help'.\n`],
  ];
  for (const [argv, line] of refused) {
    const r = await inProcess(argv);
    t.equal(r.code, 125, argv.join(' '));
    t.equal(r.stderr, line);
    t.equal(r.stdout, '');
  }

  const root = daemonRoot(t);
  const c = await client(root);
  t.teardown(() => c.close());
  const env = { TASKIO_ROOT: root };
  const created = await inProcess(['container', 'create', '--name', 'grouped', '--runtime', 'host', '--', 'true'], verbs, env);
  t.equal(created.stdout, 'grouped\n', 'container create made the task');
  const listed = await inProcess(['container', 'list', '-a', '--format', '{{.ID}} {{.Status}}'], verbs, env);
  t.equal(listed.code, 0);
  t.equal(listed.stdout, (await inProcess(['ps', '-a', '--format', '{{.ID}} {{.Status}}'], verbs, env)).stdout);
  t.match(listed.stdout, /^grouped \w+/);
  const info = await inProcess(['system', 'info', '--format', '{{.ContainersStopped}} {{.NCPU}}'], verbs, env);
  t.equal(info.stdout, `1 ${os.cpus().length}\n`);
  const removed = await inProcess(['container', 'rm', 'grouped'], verbs, env);
  t.equal(removed.code, 0);
  t.equal(removed.stdout, 'grouped\n');
});

t.test('an error that escapes every verb still ends the command with one line and 125', { timeout: 60_000 }, async (t) => {
  const run = (escape: string) => spawnSync(process.execPath, ['--input-type=module', '-e',
    `import { installFatalHandlers } from ${JSON.stringify(`${repoRoot}/dist/cli/command.js`)}; installFatalHandlers(); ${escape}`,
  ], { encoding: 'utf8', env: { ...process.env, TASKIO_DEBUG: '' } });
  const thrown = run("setImmediate(() => { throw new Error('escaped\\nacross lines'); });");
  t.equal(thrown.status, 125);
  t.equal(thrown.stderr, 'taskio: escaped across lines\n');
  const rejected = run("Promise.reject(new Error('nobody awaited'));");
  t.equal(rejected.status, 125);
  t.equal(rejected.stderr, 'taskio: nobody awaited\n');
});

t.test('a verb that does not read stdin never makes the stream (process.stdin costs a stream and its module)', async (t) => {
  let made = 0;
  const stdout = new Collector(), stderr = new Collector();
  const io = { get stdin() { made++; return process.stdin; }, stdout, stderr, env: {} } as unknown as CommandIO;
  // Refused by the verb itself (after its context is made), before any daemon is asked.
  const code = await main(['run', '-d', '--detach-keys', 'ctrl-x', '--', 'true'], verbs, io);
  t.equal(code, 125);
  t.match(stderr.text(), /^taskio run: conflicting options: --detach-keys and --detach/);
  t.equal(made, 0, 'stdin not read');
});
