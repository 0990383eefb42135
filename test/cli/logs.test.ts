import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonClient } from '../../src/daemon/index.js';
import { Collector, tmpDir, until } from '../helpers/common.js';
import { client, daemonPid, daemonRoot, waitGone } from '../daemon/helpers.js';
import { startTaskio, taskio } from './taskioCommand.js';

// One daemon on a private root for the whole file; host tasks (fast), each with its own id.
const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

const numbered = (from: number, to: number, prefix = ''): string => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}\n`).join('');
const stamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z /;

t.test('logs: the raw bytes, stdout to stdout and stderr to stderr; --tail N; -t', { timeout: 120_000 }, async (t) => {
  const id = 'logs-basic';
  const out = 'logs-out';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'i=1; while [ $i -le 20 ]; do echo $i; echo "e$i" >&2; i=$((i+1)); done; printf "no newline"'] });
  await c.createTask({ id: out, runtime: 'host', args: ['sh', '-c', 'i=1; while [ $i -le 20 ]; do echo $i; i=$((i+1)); done'] });
  await Promise.all([c.wait(id), c.wait(out)]);
  const [all, tail, none, stamped, negative, notNumber] = await Promise.all([
    taskio(t, root, 'logs', id),
    taskio(t, root, 'logs', '--tail', '5', out),
    taskio(t, root, 'logs', '-n', '0', out),
    taskio(t, root, 'logs', '-t', '--tail', 'all', id),
    taskio(t, root, 'logs', '--tail', '-1', out),
    taskio(t, root, 'logs', '--tail=x', out),
  ]);
  // docker's daemon reads --tail with strconv.Atoi: a negative count, or a failure, is the whole log.
  t.same([negative.code, negative.stdout, negative.stderr], [0, numbered(1, 20), ''], '--tail -1: everything');
  t.same([notNumber.code, notNumber.stdout, notNumber.stderr], [0, numbered(1, 20), ''], '--tail x: everything');
  t.equal(all.code, 0);
  t.equal(all.stdout, `${numbered(1, 20)}no newline\n`, 'stdout as written (an unfinished last line ends with the log)');
  t.equal(all.stderr, numbered(1, 20, 'e'), 'stderr on stderr');

  t.equal(tail.code, 0);
  t.equal(tail.stdout, numbered(16, 20), '--tail 5: the last 5 lines');
  t.equal(none.code, 0);
  t.equal(none.stdout, '', '--tail 0 shows nothing');

  t.equal(stamped.code, 0);
  const lines = stamped.stdout.split('\n').slice(0, -1);
  t.equal(lines.length, 21);
  t.ok(lines.every((l) => stamp.test(l)), 'each line starts with its time');
  t.same(lines.map((l) => l.replace(stamp, '')), [...numbered(1, 20).split('\n').slice(0, -1), 'no newline'], 'then the line as written');
  t.match(stamped.stderr, new RegExp(`^(${stamp.source.slice(1)}e\\d+\n){20}$`), 'stderr stamped too');
});

t.test('logs -t: a line of more than 1 MiB has one time, before its first byte, and comes back byte for byte', { timeout: 120_000 }, async (t) => {
  // The reader joins a long line's P entries up to 1 MiB and hands the rest out in pieces; each
  // piece was stamped as if a line began there, so the time showed up inside the line.
  const id = 'logs-long-line';
  const long = 'a'.repeat(2_500_000);
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', `head -c ${long.length} /dev/zero | tr '\\0' a; echo; echo short; echo err >&2`] });
  await c.wait(id);
  const stamped = await taskio(t, root, 'logs', '-t', id);
  t.equal(stamped.code, 0);
  const lines = stamped.stdout.split('\n').slice(0, -1);
  t.equal(lines.length, 2, 'two lines');
  t.ok(lines.every((l) => stamp.test(l)), 'each starts with its time');
  t.equal(stamped.stdout.match(new RegExp(stamp.source.slice(1), 'gm'))?.length, 2, 'no time inside the long line');
  t.same(lines.map((l) => l.replace(stamp, '')), [long, 'short'], 'the lines as written');
  t.match(stamped.stderr, new RegExp(`^${stamp.source.slice(1)}err\n$`), 'stderr stamped once');
});

t.test('logs --details: each line after its attributes (a task log has none) and a space, as docker; with -t after the time', { timeout: 120_000 }, async (t) => {
  const id = 'logs-details';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'echo one; echo two >&2; printf end'] });
  await c.wait(id);
  const [details, both] = await Promise.all([taskio(t, root, 'logs', '--details', id), taskio(t, root, 'logs', '--details', '-t', '--tail', '1', id)]);
  t.same([details.code, details.stdout, details.stderr], [0, ' one\n end\n', ' two\n']);
  t.equal(both.code, 0);
  t.match(both.stdout, new RegExp(`^${stamp.source.slice(1)} end\n$`), 'the time, a space, the (empty) attributes, a space, the line');
});

t.test('logs -t of a terminal task: its raw log holds no times, an error line and 125; one given a CRI log is stamped', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-logs-tty-');
  const cri = path.join(dir, 'tty.log'), go = path.join(dir, 'go');
  // Two lines, then the terminal kept until the test's file is there: Linux may drop what a pty's
  // last holder wrote just before it closed it, so the task ends once its lines are in the log.
  const script = `echo one; echo two; while [ ! -e ${go} ]; do sleep 0.02; done`;
  await c.createTask({ id: 'logs-tty', runtime: 'host', terminal: true, args: ['sh', '-c', script] });
  await c.createTask({ id: 'logs-tty-cri', runtime: 'host', terminal: true, args: ['sh', '-c', script], log: `file://${cri}?format=cri` });
  t.teardown(() => Promise.all(['logs-tty', 'logs-tty-cri'].map((id) => c.remove(id, { force: true }).catch(() => undefined))));
  for (const id of ['logs-tty', 'logs-tty-cri']) {
    await until(async () => {
      const out = new Collector();
      await c.logs(id, { stdout: out });
      return out.text().includes('two\r\n');
    }, 20_000, `${id}: both lines in the log`);
  }
  fs.writeFileSync(go, '');
  await Promise.all([c.wait('logs-tty'), c.wait('logs-tty-cri')]);
  const [plain, stamped, criStamped, details] = await Promise.all([
    taskio(t, root, 'logs', 'logs-tty'), taskio(t, root, 'logs', '-t', 'logs-tty'), taskio(t, root, 'logs', '--timestamps', 'logs-tty-cri'),
    taskio(t, root, 'logs', '--details', 'logs-tty'),
  ]);
  t.same([plain.code, plain.stdout, plain.stderr], [0, 'one\r\ntwo\r\n', ''], 'the bytes the terminal gave');
  t.same([stamped.code, stamped.stdout, stamped.stderr], [125, '', 'taskio logs: task logs-tty has a raw log: timestamps needs format=cri\n'], 'not the log without its times');
  t.same([details.code, details.stdout, details.stderr], [125, '', 'taskio logs: task logs-tty has a raw log: details needs format=cri\n'], 'nor without its lines');
  t.equal(criStamped.code, 0);
  t.match(criStamped.stdout, new RegExp(`^${stamp.source.slice(1)}one\r\n${stamp.source.slice(1)}two\r\n$`), 'a CRI log: each line with its time');
});

/** Waits for task `id`'s first line, `before`, in its log; returns the time it was logged (epoch ms). */
async function firstLineTime(id: string): Promise<number> {
  let first = '';
  await until(async () => {
    const out = new Collector();
    await c.logs(id, { stdout: out }, { timestamps: true });
    first = out.text();
    return first.includes('before');
  }, 20_000, 'the first line in the log');
  return Date.parse(first.slice(0, first.indexOf(' ')));
}

t.test('logs --since: an RFC 3339 time keeps what came after it, a duration what came within it', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-ctl-since-');
  const go = path.join(dir, 'go');
  const id = 'logs-since';
  // The task writes one line, waits for the test's file, writes another.
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', `echo before; while [ ! -e ${go} ]; do sleep 0.02; done; echo after`] });
  const beforeAt = await firstLineTime(id);
  // A moment after the first line, and the second line written only once the clock passed it.
  const since = new Date(beforeAt + 5);
  await until(() => Date.now() > since.getTime() + 1, 1000, 'the clock to pass the --since time');
  fs.writeFileSync(go, '');
  await c.wait(id);
  const after = await taskio(t, root, 'logs', '--since', since.toISOString(), id);
  t.equal(after.code, 0);
  t.equal(after.stdout, 'after\n');
  const [hour, future] = await Promise.all([
    taskio(t, root, 'logs', '--since', '1h', id),
    taskio(t, root, 'logs', '--since', String(Math.floor(Date.now() / 1000) + 60), id),
  ]);
  t.equal(hour.stdout, 'before\nafter\n', 'within the last hour: both');
  t.equal(future.stdout, '', 'a Unix time in the future: nothing');
});

t.test('logs --since and --until compare to the nanosecond, as docker\'s: RFC 3339 and Unix seconds', { timeout: 120_000 }, async (t) => {
  const id = 'logs-ns';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'echo one'] });
  await c.wait(id);
  const stamped = await taskio(t, root, 'logs', '-t', id);
  const at = stamped.stdout.slice(0, stamped.stdout.indexOf(' '));
  t.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/, 'the entry\'s time, nine digits');
  // The entry's time a nanosecond later and earlier, as RFC 3339 and as Unix seconds. One of the
  // two is in the entry's millisecond whatever its time; a comparison to the millisecond took it.
  const ns = BigInt(Date.parse(at.slice(0, 19) + 'Z') / 1000) * 1_000_000_000n + BigInt(at.slice(20, 29));
  const rfc = (n: bigint): string => `${new Date(Number(n / 1_000_000n)).toISOString().slice(0, 19)}.${String(n % 1_000_000_000n).padStart(9, '0')}Z`;
  const unix = (n: bigint): string => `${n / 1_000_000_000n}.${String(n % 1_000_000_000n).padStart(9, '0')}`;
  t.equal(rfc(ns), at);
  const cases: Array<[string, string, string]> = [
    ['--since', rfc(ns), 'one\n'], ['--since', rfc(ns + 1n), ''], ['--since', unix(ns), 'one\n'], ['--since', unix(ns + 1n), ''],
    ['--until', rfc(ns), 'one\n'], ['--until', rfc(ns - 1n), ''], ['--until', unix(ns), 'one\n'], ['--until', unix(ns - 1n), ''],
  ];
  const results = await Promise.all(cases.map(([flag, time]) => taskio(t, root, 'logs', flag, time, id)));
  for (const [i, [flag, time, out]] of cases.entries()) t.same([results[i]!.code, results[i]!.stdout, results[i]!.stderr], [0, out, ''], `${flag} ${time}`);
});

t.test('logs --until: a time keeps what came up to it, a duration what came before it; -f ends once the clock passes it', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-ctl-until-');
  const go = path.join(dir, 'go');
  const id = 'logs-until';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', `echo before; while [ ! -e ${go} ]; do sleep 0.02; done; echo after; exec sleep 1000`] });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  // A moment after the first line; the second line is written only once the clock passed it.
  const cut = new Date((await firstLineTime(id)) + 5);
  await until(() => Date.now() > cut.getTime() + 1, 1000, 'the clock to pass the --until time');
  fs.writeFileSync(go, '');
  await until(async () => (await taskio(t, root, 'logs', id)).stdout === 'before\nafter\n', 20_000, 'the second line');
  const [upTo, hourAgo, followed] = await Promise.all([
    taskio(t, root, 'logs', '--until', cut.toISOString(), id),
    taskio(t, root, 'logs', '--until', '1h', id),
    // The task runs on and writes nothing more: only the --until time ends this follow.
    taskio(t, root, 'logs', '-f', '--until', cut.toISOString(), id),
  ]);
  t.same([upTo.code, upTo.stdout, upTo.stderr], [0, 'before\n', ''], 'up to the time: the first line');
  t.same([hourAgo.code, hourAgo.stdout], [0, ''], 'until an hour ago: nothing');
  t.same([followed.code, followed.stdout], [0, 'before\n'], '-f with a past --until: what came up to it, then the end');
  const soon = new Date(Date.now() + 300);
  const live = await taskio(t, root, 'logs', '-f', '--since', cut.toISOString(), '--until', soon.toISOString(), id);
  t.same([live.code, live.stdout], [0, 'after\n'], '-f with --until ahead: follows, then ends by itself');
  t.ok(Date.now() >= soon.getTime(), 'not before the --until time');
});

t.test('logs -f follows across rotations without loss and ends once the task exited', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-ctl-rot-');
  const log = path.join(dir, 'r.log');
  const go = path.join(dir, 'go');
  const id = 'logs-rotate';
  // ~2000 CRI entries of ~50 bytes over 8 KiB files: a dozen rotations.
  await c.createTask({
    id, runtime: 'host', log: `file://${log}?format=cri&maxSize=8KB&maxFiles=40`,
    args: ['sh', '-c', `echo start; while [ ! -e ${go} ]; do sleep 0.02; done; i=1; while [ $i -le 2000 ]; do echo "line $i"; i=$((i+1)); done`],
  });
  const follower = startTaskio(t, root, ['logs', '-f', id]);
  // Once the follower shows the first line it is following the live log: the rotations happen under it.
  await until(() => follower.output() === 'start\n', 30_000, 'the follower to show the first line');
  fs.writeFileSync(go, '');
  const r = await follower.result;
  t.equal(r.code, 0, 'logs -f ended by itself');
  t.equal(r.stderr, '');
  t.equal(r.stdout, `start\n${numbered(1, 2000, 'line ')}`, 'every line once, in order');
  t.ok(fs.readdirSync(dir).filter((f) => f.startsWith('r.log.')).length >= 5, 'the log rotated');
  t.equal((await taskio(t, root, 'logs', id)).stdout, `start\n${numbered(1, 2000, 'line ')}`, 'and logs reads all of it afterwards');
});

t.test('logs -f: ctrl-C (SIGINT) ends it quietly with 130; an exited task ends at once', { timeout: 120_000 }, async (t) => {
  const id = 'logs-int';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'echo hello; exec sleep 1000'] });
  const follower = startTaskio(t, root, ['logs', '-f', id]);
  await until(() => follower.output() === 'hello\n', 20_000, 'the line');
  follower.kill('SIGINT');
  const r = await follower.result;
  t.equal(r.code, 130);
  t.equal(r.stderr, '');
  await c.kill(id);
  await c.wait(id);
  const done = await taskio(t, root, 'logs', '-f', id);
  t.equal(done.code, 0);
  t.equal(done.stdout, 'hello\n');
});

t.test('logs -f of a created task: its empty log at once, exit 0, as docker (only a running task is followed)', { timeout: 30_000 }, async (t) => {
  const id = 'logs-created';
  await c.createTask({ id, runtime: 'host', args: ['echo', 'ran'], start: false });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  // The old daemon followed it until a start and that run's exit: this waited for the test's timeout.
  const [plain, followed] = await Promise.all([taskio(t, root, 'logs', id), taskio(t, root, 'logs', '-f', id)]);
  t.same([plain.code, plain.stdout, plain.stderr], [0, '', ''], 'logs: empty');
  t.same([followed.code, followed.stdout, followed.stderr], [0, '', ''], 'logs -f: empty, and it returned');
  // The task is left as it was: started now, its run is in the log as usual.
  await c.start(id);
  await c.wait(id);
  t.equal((await taskio(t, root, 'logs', '-f', id)).stdout, 'ran\n', 'its run, once started');
});

t.test('logs -f: a daemon that goes away in the middle is one line and 125, not the end of the log', { timeout: 120_000 }, async (t) => {
  const id = 'logs-cut';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'echo hello; exec sleep 1000'] });
  const follower = startTaskio(t, root, ['logs', '-f', id]);
  await until(() => follower.output() === 'hello\n', 20_000, 'the line');
  const pid = daemonPid(root);
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);
  const r = await follower.result;
  t.equal(r.code, 125);
  t.equal(r.stderr, 'taskio logs: the daemon closed the connection in the middle of an answer\n');
  await c.remove(id, { force: true }); // through the next daemon, which took the task over
});

t.test('logs: bad input is one line naming it, exit 125', { timeout: 120_000 }, async (t) => {
  const cases: Array<[string[], string]> = [
    [['logs', 'no-such-task'], 'taskio logs: no such task: no-such-task\n'],
    [['logs', 'bad/id'], 'taskio logs: invalid task id "bad/id": it must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}$\n'],
    [['logs', '--since', 'yesterday', 'a'], `taskio logs: invalid argument "yesterday" for "--since" flag: failed to parse value as time or duration: "yesterday". See 'taskio logs --help'.\n`],
    [['logs', '--until', 'tomorrow', 'a'], `taskio logs: invalid argument "tomorrow" for "--until" flag: failed to parse value as time or duration: "tomorrow". See 'taskio logs --help'.\n`],
    [['logs', '--bogus', 'a'], "taskio logs: unknown flag: --bogus. See 'taskio logs --help'.\n"],
    [['logs'], `taskio logs: "taskio logs" requires exactly 1 argument. See 'taskio logs --help'.\n`],
  ];
  const before = fs.readdirSync(path.join(root, 'tasks')).sort();
  const results = await Promise.all(cases.map(([argv]) => taskio(t, root, ...argv)));
  for (const [i, [argv, line]] of cases.entries()) {
    const r = results[i]!;
    t.equal(r.code, 125, argv.join(' '));
    t.equal(r.stderr, line);
    t.equal(r.stdout, '');
  }
  t.same(fs.readdirSync(path.join(root, 'tasks')).sort(), before, 'no task made or removed');
});
