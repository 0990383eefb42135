/**
 * docker's and podman's `--log-driver` and `--log-opt` on `run` and `create`, end to end against a
 * real daemon with host tasks: k8s-file/json-file are the default log, none is FIFO mode;
 * max-size/max-file rotate the default log in the task directory (logs, logs -f and attach read
 * across the rotated files, also after the daemon was replaced); path= puts the log where asked;
 * every bad driver, option or combination is one line and 125, and leaves nothing behind.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DaemonClient } from '../../src/daemon/index.js';
import { Collector, tmpDir, until } from '../helpers/common.js';
import { client, daemonPid, daemonRoot, taskDirs, treeOf, waitGone } from '../daemon/helpers.js';
import { startTaskio, taskio } from './taskioCommand.js';
import { refusedLine } from './inProcess.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

const host = ['--runtime', 'host'];
const numbered = (from: number, to: number, prefix = 'line '): string => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}\n`).join('');
/** A shell loop printing `line FROM` … `line TO`. */
const printLines = (from: number, to: number): string => `i=${from}; while [ $i -le ${to} ]; do echo "line $i"; i=$((i+1)); done`;
const inspectLog = async (id: string): Promise<string> => (await taskio(t, root, 'inspect', '-f', '{{.log}} {{.logFormat}}', id)).stdout;
const defaultLog = (id: string): string => path.join(root, 'tasks', id, `${id}.log`);

/** The lines a CRI log set holds, oldest file first (`base.N` … `base.1`, `base`): what `logs` must show. */
function criSetText(base: string): string {
  const files = fs.readdirSync(path.dirname(base)).filter((f) => f === path.basename(base) || f.startsWith(`${path.basename(base)}.`));
  const ordered = files.map((f) => path.join(path.dirname(base), f)).sort((a, b) => rotationIndex(b) - rotationIndex(a));
  return ordered.map((f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').map((l) => `${l.split(' ').slice(3).join(' ')}\n`).join('')).join('');
  function rotationIndex(f: string): number {
    return f === base ? 0 : Number(f.slice(base.length + 1));
  }
}

t.test('k8s-file and json-file are the default log in the task directory; none is FIFO mode', { timeout: 60_000 }, async (t) => {
  for (const driver of ['k8s-file', 'json-file']) {
    const id = `drv-${driver}`;
    const r = await taskio(t, root, 'run', '--name', id, ...host, '--log-driver', driver, '--', 'sh', '-c', 'echo out; echo err >&2');
    t.same([r.code, r.stdout, r.stderr], [0, 'out\n', 'err\n'], `${driver}: attached as without the flag`);
    t.equal(await inspectLog(id), `file://${defaultLog(id)}?format=cri cri\n`, `${driver}: the default log, as inspect shows it without the flag`);
    t.equal((await taskio(t, root, 'logs', id)).stdout, 'out\n');
  }
  const none = await taskio(t, root, 'run', '--name', 'drv-none', ...host, '--log-driver', 'none', '--', 'sh', '-c', 'echo fifo; exit 3');
  t.same([none.code, none.stdout], [3, 'fifo\n'], 'none: FIFO mode, attached by the command itself');
  t.equal(await inspectLog('drv-none'), 'none <no value>\n');
  t.notOk(fs.existsSync(defaultLog('drv-none')), 'no log file');
  const logs = await taskio(t, root, 'logs', 'drv-none');
  t.same([logs.code, logs.stderr], [125, 'taskio logs: task drv-none has no log the daemon can read (log: none)\n']);
  const created = await taskio(t, root, 'create', '--name', 'drv-create', ...host, '--log-driver', 'none', '--', 'true');
  t.equal(created.code, 0, 'create takes the flags too');
  t.equal(await inspectLog('drv-create'), 'none <no value>\n');
});

t.test('max-size and max-file rotate the default log in the task directory; logs shows every line kept across the files, also under the next daemon', { timeout: 120_000 }, async (t) => {
  const id = 'rot-default';
  const dir = tmpDir(t, 'taskio-logopt-');
  const go = path.join(dir, 'go');
  // ~50 bytes a CRI entry: 200 lines over files of 1000 bytes (1k counts 1000s, as docker's) is
  // some ten rotations, of which 3 files are kept. Repeated options: the last counts; keys in any case (podman).
  const r = await taskio(t, root, 'run', '-d', '--name', id, ...host, '--log-opt', 'max-file=9', '--log-opt', 'MAX-SIZE=1k', '--log-opt', 'max-file=3',
    '--', 'sh', '-c', `${printLines(1, 100)}; while [ ! -e ${go} ]; do sleep 0.02; done; ${printLines(101, 200)}`);
  t.same([r.code, r.stdout, r.stderr], [0, `${id}\n`, '']);
  t.equal(await inspectLog(id), `file://${defaultLog(id)}?format=cri&maxFiles=3&maxSize=1000 cri\n`, 'inspect: the default log with its rotation');
  await until(async () => {
    const last = new Collector();
    await c.logs(id, { stdout: last }, { tail: 1 });
    return last.text() === 'line 100\n';
  }, 20_000, 'the first 100 lines in the log');
  // The next daemon adopts the task and rotates its log the same way (the record holds the options).
  const first = daemonPid(root);
  process.kill(first, 'SIGKILL');
  await waitGone(first);
  t.match(await c.getTask(id), { status: 'running', adopted: true }, 'the next request starts a daemon, which adopts the task');
  t.not(daemonPid(root), first, 'a new daemon');
  fs.writeFileSync(go, '');
  t.equal((await c.wait(id)).exitCode, 0, 'the adopted task\'s code, from the exit recorder');

  const files = fs.readdirSync(path.join(root, 'tasks', id)).filter((f) => f.startsWith(`${id}.log`)).sort();
  t.same(files, [`${id}.log`, `${id}.log.1`, `${id}.log.2`], 'three files kept, in the task directory');
  for (const f of files) t.ok(fs.statSync(path.join(root, 'tasks', id, f)).size <= 1000, `${f}: at most max-size`);
  const logs = await taskio(t, root, 'logs', id);
  t.equal(logs.code, 0);
  t.equal(logs.stdout, criSetText(defaultLog(id)), 'logs: every line of the kept files, oldest first');
  const firstKept = Number(/^line (\d+)\n/.exec(logs.stdout)?.[1]);
  t.ok(firstKept > 101 && logs.stdout === numbered(firstKept, 200), `the last lines, none lost between the files (from line ${firstKept})`);

  const alone = await taskio(t, root, 'run', '--name', 'rot-one', ...host, '--log-opt', 'max-size=500', '--', 'sh', '-c', printLines(1, 50));
  t.equal(alone.code, 0);
  t.equal(await inspectLog('rot-one'), `file://${defaultLog('rot-one')}?format=cri&maxFiles=1&maxSize=500 cri\n`, 'max-size alone keeps one file (docker\'s default max-file)');
  t.same(fs.readdirSync(path.join(root, 'tasks', 'rot-one')).filter((f) => f.startsWith('rot-one.log')), ['rot-one.log']);
  const one = (await taskio(t, root, 'logs', 'rot-one')).stdout;
  t.ok(one.length > 0 && one.length < numbered(1, 50).length && numbered(1, 50).endsWith(one), 'logs: the lines of the one file kept');
});

t.test('logs -f, attach --logs and an attached run read every line across the rotations of the default log', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-logopt-follow-');
  const go = path.join(dir, 'go');
  const id = 'follow-rot';
  // 1000 lines over files of 2000 bytes, 100 kept: some 25 rotations, no file dropped while read.
  const opts = ['--log-opt', 'max-size=2k', '--log-opt', 'max-file=100'];
  const d = await taskio(t, root, 'run', '-d', '--name', id, ...host, ...opts, '--', 'sh', '-c', `echo start; while [ ! -e ${go} ]; do sleep 0.02; done; ${printLines(1, 1000)}`);
  t.equal(d.code, 0);
  const follower = startTaskio(t, root, ['logs', '-f', id]);
  const attached = startTaskio(t, root, ['attach', '--logs', id]);
  // Both show the first line once they follow the live log: the rotations happen under them.
  await until(() => follower.output() === 'start\n' && attached.output() === 'start\n', 30_000, 'both to show the first line');
  fs.writeFileSync(go, '');
  const [f, a] = await Promise.all([follower.result, attached.result]);
  t.same([f.code, f.stderr, f.stdout], [0, '', `start\n${numbered(1, 1000)}`], 'logs -f: every line once, in order');
  t.same([a.code, a.stderr, a.stdout], [0, '', `start\n${numbered(1, 1000)}`], 'attach: every line once, in order, and the task\'s code');
  t.ok(fs.readdirSync(path.join(root, 'tasks', id)).filter((f) => f.startsWith(`${id}.log.`)).length >= 10, 'the log rotated');
  t.equal((await taskio(t, root, 'logs', id)).stdout, `start\n${numbered(1, 1000)}`, 'logs reads all of it afterwards');

  const run = await taskio(t, root, 'run', '--name', 'follow-run', ...host, ...opts, '--', 'sh', '-c', `${printLines(1, 1000)}; exit 5`);
  t.same([run.code, run.stdout], [5, numbered(1, 1000)], 'an attached run: its whole output across the rotations, and its code');
});

t.test('logs -f follows max-size alone, whose rotation removes the file it read (one file kept)', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-logopt-one-');
  const id = 'follow-one';
  // Chunks of ~700 bytes over files of 1000: at most one rotation between a chunk and the next,
  // each chunk written once the follower showed the one before.
  const chunk = (k: number) => numbered(1, 12, `chunk ${k} line `);
  const d = await taskio(t, root, 'run', '-d', '--name', id, ...host, '--log-opt', 'max-size=1k', '--', 'sh', '-c',
    `k=1; while [ $k -le 6 ]; do i=1; while [ $i -le 12 ]; do echo "chunk $k line $i"; i=$((i+1)); done; while [ ! -e ${dir}/go-$k ]; do sleep 0.02; done; k=$((k+1)); done`);
  t.equal(d.code, 0);
  const follower = startTaskio(t, root, ['logs', '-f', id]);
  let all = '';
  for (let k = 1; k <= 6; k++) {
    all += chunk(k);
    await until(() => follower.output() === all, 30_000, `chunk ${k}`);
    fs.writeFileSync(path.join(dir, `go-${k}`), '');
  }
  const f = await follower.result;
  t.same([f.code, f.stderr, f.stdout], [0, '', all], 'every line once, in order');
  t.same(fs.readdirSync(path.join(root, 'tasks', id)).filter((f) => f.startsWith(`${id}.log`)), [`${id}.log`], 'one file kept');
  const kept = (await taskio(t, root, 'logs', id)).stdout;
  t.ok(kept.length < all.length / 2 && all.endsWith(kept), 'it rotated: logs shows the last file\'s lines');
});

t.test('path= writes the log where asked (CRI; raw for a terminal), rotated with max-size/max-file; rm leaves it', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-logopt-path-');
  // A path that a URI must escape: a space, # and ?.
  const file = path.join(dir, 'sub dir', 'a b#c?.log');
  const r = await taskio(t, root, 'run', '-d', '--name', 'path-cri', ...host, '--log-driver', 'json-file', '--log-opt', `path=${file}`,
    '--log-opt', 'max-size=1k', '--log-opt', 'max-file=2', '--', 'sh', '-c', printLines(1, 60));
  t.equal(r.code, 0);
  t.match(await c.wait('path-cri'), { exitCode: 0 });
  t.equal(await inspectLog('path-cri'), `${pathToFileURL(file).href}?format=cri&maxFiles=2&maxSize=1000 cri\n`, 'inspect: the file URI, escaped');
  t.same(fs.readdirSync(path.dirname(file)).sort(), ['a b#c?.log', 'a b#c?.log.1'], 'the log and one rotated file, where asked');
  t.match(fs.readFileSync(file, 'utf8'), /^\S+Z stdout F line \d+\n/, 'CRI lines (k8s-file)');
  t.notOk(fs.existsSync(defaultLog('path-cri')), 'none in the task directory');
  const logs = (await taskio(t, root, 'logs', 'path-cri')).stdout;
  t.equal(logs, criSetText(file), 'logs reads it');
  t.ok(numbered(1, 60).endsWith(logs) && logs.length < numbered(1, 60).length);
  t.equal((await taskio(t, root, 'rm', 'path-cri')).code, 0);
  t.ok(fs.existsSync(file), 'a log the user put elsewhere stays after rm');

  const tty = path.join(dir, 'tty.log');
  const term = await taskio(t, root, 'run', '-d', '-t', '--name', 'path-tty', ...host, '--log-opt', `path=${tty}`, '--', 'sh', '-c', 'printf "prompt> "; echo done');
  t.equal(term.code, 0);
  await c.wait('path-tty');
  t.equal(await inspectLog('path-tty'), `${pathToFileURL(tty).href}?format=raw raw\n`);
  t.equal(fs.readFileSync(tty, 'utf8'), 'prompt> done\r\n', 'a terminal\'s bytes as they came, as its default log');

  const later = path.join(dir, 'created.log');
  const created = await taskio(t, root, 'create', '--name', 'path-create', ...host, '--log-driver', 'k8s-file', '--log-opt', `path=${later}`, '--', 'echo', 'made');
  t.equal(created.code, 0);
  t.equal((await taskio(t, root, 'start', '-a', 'path-create')).stdout, 'made\n');
  t.match(fs.readFileSync(later, 'utf8'), /^\S+Z stdout F made\n$/, 'create: the log where asked');
});

t.test('a bad driver, option or combination: one line naming it, exit 125, nothing made', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-logopt-bad-');
  const opt = (o: string, why: string) => `taskio run: invalid argument "${o}" for "--log-opt" flag: ${why}. See 'taskio run --help'.\n`;
  const unsupportedOpt = (o: string) => opt(o, `log option "${o.split('=')[0]}" is not supported (supported: max-size, max-file, path)`);
  const driver = (verb: string, d: string) => `taskio ${verb}: invalid argument "${d}" for "--log-driver" flag: log driver "${d}" is not supported (supported: k8s-file, json-file, none). See 'taskio ${verb} --help'.\n`;
  const cases: Array<[string[], string | RegExp]> = [
    ...['journald', 'syslog', 'fluentd', 'passthrough', 'local', 'gelf', 'K8S-FILE', ''].map((d): [string[], string] => [['run', '--log-driver', d], driver('run', d)]),
    [['create', '--log-driver', 'journald'], driver('create', 'journald')],
    ...['tag=x', 'labels=a', 'env=A', 'env-regex=^A', 'mode=non-blocking', 'max-buffer-size=4m', 'compress=true', 'Tag=x'].map((o): [string[], string] => [['run', '--log-opt', o], unsupportedOpt(o)]),
    [['run', '--log-opt', 'max-size'], opt('max-size', 'expected KEY=VALUE (max-size, max-file, path)')],
    [['run', '--log-opt', '=1m'], opt('=1m', 'expected KEY=VALUE (max-size, max-file, path)')],
    [['run', '--log-opt', 'max-size=0'], opt('max-size=0', 'max-size must be a positive number')],
    [['run', '--log-opt', 'max-size=0.0001k'], opt('max-size=0.0001k', 'max-size must be a positive number')],
    ...['10x', '-1m', '', '1.m', '10 mb '].map((v): [string[], string] => [['run', '--log-opt', `max-size=${v}`], opt(`max-size=${v}`, `invalid size: '${v}'`)]),
    [['run', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=0'], opt('max-file=0', 'max-file cannot be less than 1')],
    [['run', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=two'], opt('max-file=two', 'strconv.ParseInt: parsing "two": invalid syntax')],
    [['run', '--log-opt', 'max-size=1m', '--log-opt', 'max-file=1001'], opt('max-file=1001', 'max-file must be at most 1000 (each rotation renames every kept file)')],
    [['run', '--log-opt', 'max-file=3'], 'taskio run: max-file=3 needs max-size: the log rotates only by size\n'],
    [['create', '--log-opt', `path=${dir}/made/x.log`, '--log-opt', 'max-file=2'], 'taskio create: max-file=2 needs max-size: the log rotates only by size\n'],
    [['run', '--log-opt', 'path=rel.log'], opt('path=rel.log', 'path must be an absolute file path, got "rel.log"')],
    [['run', '--log-opt', `path=${dir}/made/`], opt(`path=${dir}/made/`, `path must be an absolute file path, got "${dir}/made/"`)],
    [['run', '--log-driver', 'none', '--log-opt', 'max-size=1m'], 'taskio run: invalid logging opts for driver none: max-size=1m (FIFO mode keeps no log)\n'],
    [['run', '--log-opt', `path=${dir}/none.log`, '--log-driver', 'none'], `taskio run: invalid logging opts for driver none: path=${dir}/none.log (FIFO mode keeps no log)\n`],
    [['run', '--log', 'none', '--log-driver', 'none'], "taskio run: conflicting options: --log and --log-driver. See 'taskio run --help'.\n"],
    [['create', '--log', `file://${dir}/uri.log`, '--log-opt', 'max-size=1m'], "taskio create: conflicting options: --log and --log-opt. See 'taskio create --help'.\n"],
    // Refused by the daemon, before anything is made.
    [['run', '--log-opt', `path=${root}/tasks/inside.log`], /^taskio run: log \S+\/tasks\/inside\.log lies inside the daemon's state root[^\n]*\n$/],
    [['run', '--log-opt', `path=${dir}`], new RegExp(`^taskio run: log file "${dir}" is not a regular file \\(it is a directory\\)\\n$`)],
  ];
  const tasksBefore = taskDirs(root).sort();
  const rootBefore = treeOf(root);
  // Each case in this process (the command refuses it before it reaches the daemon), the daemon's
  // own refusals and one of each kind of the command's through the real command too.
  const daemonRefuses = cases.length - 2;
  const endToEnd = new Set([0, cases.findIndex(([argv]) => argv.includes('max-file=3')), daemonRefuses, daemonRefuses + 1]);
  for (const [k, [argv, line]] of cases.entries()) {
    const full = [...argv, ...host, '--', 'sh', '-c', `touch ${dir}/ran`];
    const r = await refusedLine(t, root, full, endToEnd.has(k));
    t.equal(r.code, 125, `${argv.join(' ')}${endToEnd.has(k) ? ' (the command)' : ''}`);
    if (typeof line === 'string') t.equal(r.stderr, line);
    else t.match(r.stderr, line);
    t.equal(r.stdout, '');
  }
  t.same(taskDirs(root).sort(), tasksBefore, 'no task made');
  t.same(treeOf(root), rootBefore, 'nothing made in the state root');
  t.same(fs.readdirSync(dir), [], 'no log file or directory made, and nothing ran');

  // A log made for a task whose command cannot start goes again, with the directories made for it.
  const failed = await taskio(t, root, 'run', ...host, '--log-opt', `path=${dir}/made/deeper/x.log`, '--log-opt', 'max-size=1m', '--', '/no/such/command');
  t.equal(failed.code, 127);
  t.match(failed.stderr, /^taskio run: \/no\/such\/command: command not found[^\n]*\n$/);
  t.same(fs.readdirSync(dir), [], 'no log file or directory left');
  t.same(taskDirs(root).sort(), tasksBefore, 'no task left');
});
