import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { DaemonClient } from '../../src/daemon/index.js';
import type { TaskView } from '../../src/daemon/task.js';
import { goDurationString } from '../../src/daemon/goDuration.js';
import { tmpDir } from '../helpers/common.js';
import { client, daemonPid, daemonRoot, eventually, waitGone } from '../daemon/helpers.js';
import { refusedLine } from './inProcess.js';
import { processesWith } from './runSession.js';
import { taskio } from './taskioCommand.js';

// One daemon for the file; host tasks (cheap), one runc task; short intervals, so a check runs every 100 ms.
const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

/**
 * The `health_status` events of task `id` from now on (subscribed before the task is made, so
 * none is missed): `next(status)` resolves once one with that status came.
 */
async function healthEvents(t: Test, d: DaemonClient, id: string, since?: Date): Promise<{ seen: string[]; next(status: string): Promise<void> }> {
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  const stream = await d.events({ id, signal: stop.signal, ...(since ? { since } : {}) });
  const seen: string[] = [];
  void (async () => {
    for await (const e of stream) if (e.type.startsWith('health_status')) seen.push(e.type);
  })().catch(() => undefined);
  return { seen, next: (status) => eventually(() => seen.includes(`health_status: ${status}`), `the health_status: ${status} event of ${id}`, 30_000) };
}

/** `taskio run -d --runtime host --name ID FLAGS… -- sleep 1000`, removed with the test. */
async function runChecked(t: Test, id: string, flags: string[], runtime = 'host'): Promise<void> {
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  const r = await taskio(t, root, 'run', '-d', '--name', id, '--runtime', runtime, ...flags, '--', 'sleep', '1000');
  t.same([r.code, r.stderr], [0, ''], `run ${flags.join(' ')}`);
}

const psStatus = async (t: Test, id: string): Promise<string> => (await taskio(t, root, 'ps', '-f', `name=^${id}$`, '--format', '{{.Status}}')).stdout;
const psHealth = async (t: Test, health: string): Promise<string[]> => (await taskio(t, root, 'ps', '-q', '-f', `health=${health}`)).stdout.split('\n').filter(Boolean);

t.test('Go\'s duration text, as docker\'s timeout message has it', async (t) => {
  const cases: Array<[number, string]> = [[0, '0s'], [30e9, '30s'], [90e9, '1m30s'], [3600e9, '1h0m0s'], [1.5e9, '1.5s'], [500e6, '500ms'], [1.5e6, '1.5ms'], [2e3, '2µs'], [7, '7ns'], [3723.25e9, '1h2m3.25s']];
  for (const [ns, text] of cases) t.equal(goDurationString(ns), text, text);
});

t.test('a check that succeeds: healthy (event, ps STATUS and -f health=, inspect\'s log)', { timeout: 60_000 }, async (t) => {
  const since = new Date(Date.now() - 1000).toISOString();
  const events = await healthEvents(t, c, 'hc-ok');
  await runChecked(t, 'hc-ok', ['--health-cmd', 'echo ok; echo err >&2', '--health-interval', '100ms']);
  await events.next('healthy');
  t.same(events.seen, ['health_status: healthy'], 'one event: starting → healthy (docker sends none for starting)');
  const view = await c.getTask('hc-ok');
  t.match(view.healthcheck, { test: ['CMD-SHELL', 'echo ok; echo err >&2'], interval: 100_000_000 }, 'the check as asked (nanoseconds, docker\'s API)');
  t.match(view.health, { status: 'healthy', failingStreak: 0 });
  const first = view.health!.log[0]!;
  t.same([first.exitCode, first.output], [0, 'ok\nerr\n'], 'stdout and stderr in the log');
  t.ok(Date.parse(first.start) <= Date.parse(first.end), 'start, then end');
  t.match(await psStatus(t, 'hc-ok'), /^Up .* \(healthy\)\n$/, 'ps STATUS');
  t.ok((await psHealth(t, 'healthy')).includes('hc-ok'), 'ps -f health=healthy');
  t.notOk((await psHealth(t, 'none')).includes('hc-ok'), 'not among health=none');
  const line = await taskio(t, root, 'events', '--since', since, '--until', new Date().toISOString(), '-f', 'task=hc-ok', '-f', 'event=health_status');
  t.match(line.stdout, /Z task health_status: healthy hc-ok\n$/, 'events prints docker\'s action; event=health_status takes every status');
});

t.test('a check failing 3 times: unhealthy, FailingStreak 3, its output in the log; the check stops with the task', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t);
  const seconds = `${200_000 + process.pid}.5`;
  // Three failures, then a check that hangs (for the default 30 s): the state stays as the third left it.
  const check = `echo x >> ${dir}/count; [ $(wc -l < ${dir}/count) -le 3 ] || sleep ${seconds}; echo "bad $(wc -l < ${dir}/count)"; exit 2`;
  const events = await healthEvents(t, c, 'hc-bad');
  await runChecked(t, 'hc-bad', ['--health-cmd', check, '--health-interval', '100ms']);
  await events.next('unhealthy');
  const health = (await c.getTask('hc-bad')).health!;
  t.same([health.status, health.failingStreak], ['unhealthy', 3]);
  t.same(health.log.map((r) => [r.exitCode, r.output]), [[2, 'bad 1\n'], [2, 'bad 2\n'], [2, 'bad 3\n']], 'every result, in order');
  t.same(events.seen, ['health_status: unhealthy'], 'starting → unhealthy');
  t.match(await psStatus(t, 'hc-bad'), /^Up .* \(unhealthy\)\n$/);
  t.ok((await psHealth(t, 'unhealthy')).includes('hc-bad'), 'ps -f health=unhealthy');

  // The fourth check hangs; the task's exit ends it: no process of it, no FIFO or pid file left.
  await eventually(() => processesWith(`sleep\0${seconds}`).length === 1, 'the hanging check');
  const [hanging] = processesWith(`sleep\0${seconds}`);
  await c.kill('hc-bad', 'KILL');
  await c.wait('hc-bad');
  await waitGone(hanging!);
  const taskDir = path.join(root, 'tasks', 'hc-bad');
  await eventually(() => !fs.readdirSync(taskDir).some((f) => f.startsWith('health-')), 'the check\'s FIFO removed');
  t.same(fs.readdirSync(path.join(taskDir, 'execs')), [], 'no pid file left');
  const after = (await c.getTask('hc-bad')).health!;
  t.same([after.status, after.log.length], ['unhealthy', 3], 'exited: unhealthy (docker\'s), the hung check counted for nothing');
});

t.test('a check that hangs: killed at the timeout (children too), exit code -1 and docker\'s message', { timeout: 60_000 }, async (t) => {
  const seconds = `${300_000 + process.pid}.5`;
  const events = await healthEvents(t, c, 'hc-hang');
  await runChecked(t, 'hc-hang', ['--health-cmd', `echo started; sleep ${seconds}; echo never`, '--health-timeout', '200ms', '--health-retries', '2', '--health-interval', '100ms']);
  await events.next('unhealthy');
  const health = (await c.getTask('hc-hang')).health!;
  // What the check wrote before its timeout follows docker's message. The timeout counts from the
  // exec's start, as docker's, so a check whose process was slow to start (cgroups joined on a busy
  // machine) may have written nothing by then: docker's message alone. Later checks show the text.
  t.equal(health.failingStreak >= 2, true, 'two failures make it unhealthy');
  for (const r of health.log.slice(0, 2)) {
    t.match(r, { exitCode: -1, output: /^Health check exceeded timeout \(200ms\)(: started\n)?$/ }, 'timed out: docker\'s message, then what the check wrote');
    const ms = Date.parse(r.end) - Date.parse(r.start);
    t.ok(ms >= 200 && ms < 5000, `ended at the timeout (${ms} ms)`);
  }
  const withOutput = 'Health check exceeded timeout (200ms): started\n';
  await eventually(async () => (await c.getTask('hc-hang')).health!.log.some((r) => r.output === withOutput), 'a timed-out check\'s output in its result');
  // The `sleep` of `sh -c` is killed with it: at most the check under way has one (an earlier
  // check's, SIGKILLed with its group, may take a moment to die on a busy machine).
  await eventually(() => processesWith(`sleep\0${seconds}`).length <= 1, 'no sleep of an earlier check left');
});

/** `taskio top ID` on state root `d`: its rows (runsc: the sandbox's own pids, from runsc's table). */
async function topRows(t: Test, d: string, id: string): Promise<Array<{ pid: number; ppid: number }>> {
  const r = await taskio(t, d, 'top', id);
  return r.stdout.split('\n').slice(1).filter(Boolean).map((l) => {
    const [pid, ppid] = l.trim().split(/\s+/);
    return { pid: Number(pid), ppid: Number(ppid) };
  });
}

// docker kills a timed-out check's exec process alone: what its shell started stays in the container,
// one set per check. runsc signals one sandbox pid at a time (no group), so its children stayed for good.
for (const [i, runtime] of (['runsc', 'runc', 'host'] as const).entries()) {
  t.test(`${runtime}: a timed-out check whose shell forked is killed with every process it started`, { timeout: 120_000 }, async (t) => {
    const id = `hc-tree-${runtime}`;
    const seconds = `${400_000 + process.pid}.${i}`; // its own: the runc and host cases run at once
    const marks = runtime === 'host' ? tmpDir(t) : '/tmp'; // a container's /tmp is its own tmpfs
    // The first two checks hang in a background and a foreground sleep; the third succeeds.
    const check = `[ -e ${marks}/hung2 ] && exit 0; [ -e ${marks}/hung1 ] && touch ${marks}/hung2; touch ${marks}/hung1; sleep ${seconds} & sleep ${seconds}`;
    const events = await healthEvents(t, c, id);
    // runsc: --init, whose tini reaps what a killed check leaves (a `sleep` as pid 1 reaps nothing:
    // the killed processes would stay as zombies, as under docker without --init).
    const init = runtime === 'runsc' ? ['--init'] : [];
    await runChecked(t, id, [...init, '--health-cmd', check, '--health-timeout', '500ms', '--health-retries', '2', '--health-interval', '100ms'], runtime);
    await events.next('unhealthy');
    await events.next('healthy');
    const log = (await c.getTask(id)).health!.log;
    const timedOut = [-1, 'Health check exceeded timeout (500ms)'];
    t.same(log.slice(0, 2).map((r) => [r.exitCode, r.output]), [timedOut, timedOut], 'two timeouts (docker\'s result): unhealthy, then healthy');
    if (runtime === 'runsc') {
      // No host pids: runsc's table. A check's process has no parent in the sandbox; what it left went to the init.
      await eventually(async () => (await topRows(t, root, id)).filter((p) => p.ppid === 1).length === 1, 'the task\'s sleep alone under its init', 10_000);
    } else {
      await eventually(() => processesWith(`sleep\0${seconds}`).length === 0, 'no sleep of a timed-out check left', 10_000);
    }
  });
}

// A daemon killed during a check left its output FIFO in the task directory, and the check running.
for (const [i, runtime] of (['runsc', 'host'] as const).entries()) {
  t.test(`${runtime}: a daemon SIGKILLed during a check: the next one removes its FIFO and record and kills its processes`, { timeout: 120_000 }, async (t) => {
    const own = daemonRoot(t);
    const first = await client(own);
    const id = `hc-cut-${runtime}`;
    const seconds = `${500_000 + process.pid}.${i}`;
    const taskDir = path.join(own, 'tasks', id);
    const init = runtime === 'runsc' ? ['--init'] : [];
    // Checks that hang for an hour, the first 100 ms after the start (the start interval).
    const r = await taskio(t, own, 'run', '-d', '--name', id, '--runtime', runtime, ...init, '--health-cmd', `sleep ${seconds} & sleep ${seconds}`,
      '--health-timeout', '1h', '--health-start-period', '1h', '--health-start-interval', '100ms', '--', 'sleep', '1000');
    t.equal(r.code, 0, r.stderr);
    const checkFiles = (): string[] => fs.readdirSync(taskDir).filter((f) => f.startsWith('health-')).sort();
    await eventually(() => checkFiles().length === 2, 'the check\'s output FIFO and record');
    const files = checkFiles();
    t.match(files, [/^health-[0-9a-f]{12}-output$/, /^health-[0-9a-f]{12}\.json$/], 'its output FIFO and process record');
    // Its processes: host pids, or the sandbox's (its exec'd process has no parent there, the init is 1).
    let pids: number[] = [];
    if (runtime === 'host') {
      await eventually(() => (pids = processesWith(`sleep\0${seconds}`)).length === 2, 'the check\'s two sleeps');
    } else {
      await eventually(async () => {
        const rows = await topRows(t, own, id);
        const check = rows.filter((p) => p.ppid === 0 && p.pid !== 1).map((p) => p.pid);
        pids = rows.filter((p) => check.includes(p.pid) || check.includes(p.ppid)).map((p) => p.pid);
        return pids.length === 2;
      }, 'the check\'s two sleeps in the sandbox');
    }
    first.close();
    const pid = daemonPid(own);
    process.kill(pid, 'SIGKILL');
    await waitGone(pid);
    t.same(checkFiles(), files, 'left by the killed daemon');
    const second = await client(own); // adopts the task
    t.teardown(() => second.close());
    t.equal((await second.getTask(id)).adopted, true);
    await eventually(() => !files.some((f) => fs.existsSync(path.join(taskDir, f))), 'the cut check\'s FIFO and record removed');
    if (runtime === 'host') {
      for (const p of pids) await waitGone(p);
    } else {
      await eventually(async () => !(await topRows(t, own, id)).some((p) => pids.includes(p.pid)), 'the cut check\'s processes gone');
    }
    await second.remove(id, { force: true });
  });
}

t.test('the start period: failures do not count until the first success, then they do', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t);
  const events = await healthEvents(t, c, 'hc-start');
  await runChecked(t, 'hc-start', [
    '--health-cmd', `test -e ${dir}/up`, '--health-start-period', '1h', '--health-start-interval', '100ms', '--health-interval', '100ms', '--health-retries', '1',
  ]);
  let view: TaskView | null = null;
  await eventually(async () => ((view = await c.getTask('hc-start')).health?.log.length ?? 0) >= 2, 'two failed checks');
  t.match(view!.health, { status: 'starting', failingStreak: 0 }, 'in the start period: still starting, nothing counted');
  t.match(await psStatus(t, 'hc-start'), /^Up .* \(health: starting\)\n$/, 'ps STATUS');
  t.ok((await psHealth(t, 'starting')).includes('hc-start'), 'ps -f health=starting');
  fs.writeFileSync(path.join(dir, 'up'), '');
  await events.next('healthy');
  fs.rmSync(path.join(dir, 'up'));
  await events.next('unhealthy');
  t.same(events.seen, ['health_status: healthy', 'health_status: unhealthy'], 'after a success a failure counts, start period or not');
});

t.test('--no-healthcheck: no check (health none); bad values: one line, 125, nothing made', { timeout: 60_000 }, async (t) => {
  await runChecked(t, 'hc-none', ['--no-healthcheck']);
  await runChecked(t, 'hc-plain', []);
  for (const id of ['hc-none', 'hc-plain']) t.match(await c.getTask(id), { healthcheck: null, health: null }, id);
  t.match(await psStatus(t, 'hc-none'), /^Up [^(]*\n$/, 'no health in STATUS');
  t.ok((await psHealth(t, 'none')).includes('hc-none'), 'ps -f health=none');
  const cases: Array<[string[], string]> = [
    [['--health-interval', '1x'], 'invalid argument "1x" for "--health-interval" flag: time: invalid duration "1x"'],
    [['--health-timeout', '-1s'], 'invalid argument "-1s" for "--health-timeout" flag: the duration cannot be negative'],
    [['--health-start-period', '500us'], 'invalid argument "500us" for "--health-start-period" flag: the duration must be 0 (the default) or at least 1ms'],
    [['--health-start-interval', '1000h'], 'invalid argument "1000h" for "--health-start-interval" flag: the duration must be at most 596h31m23.647s (24.8 days)'],
    [['--health-retries', '-1'], 'invalid argument "-1" for "--health-retries" flag: the retries cannot be negative'],
    [['--health-retries', 'x'], 'invalid argument "x" for "--health-retries" flag: strconv.ParseInt: parsing "x": invalid syntax'],
    [['--health-cmd', ''], 'invalid argument "" for "--health-cmd" flag: expected a command'],
    [['--no-healthcheck', '--health-cmd', 'true'], 'conflicting options: --no-healthcheck and --health-cmd'],
  ];
  for (const [i, [flags, why]] of cases.entries()) {
    const r = await refusedLine(t, root, ['run', '-d', '--runtime', 'host', ...flags, 'true'], i === 0);
    t.same([r.code, r.stdout, r.stderr], [125, '', `taskio run: ${why}. See 'taskio run --help'.\n`], flags.join(' '));
  }
  // The daemon checks the API's field itself. The other cases' tasks (hc-…) come and go meanwhile:
  // a task made here would have an id of the daemon's making.
  const made = async (): Promise<string[]> => (await c.listTasks({ all: true })).map((v) => v.id).filter((id) => !id.startsWith('hc-')).sort();
  const before = await made();
  const bad: Array<[unknown, RegExp]> = [
    [{ test: ['BOGUS', 'x'] }, /field "healthcheck.test" must be \["CMD-SHELL", "command"\], \["CMD", "arg", …\] or \["NONE"\], got \["BOGUS","x"\]/],
    [{ test: ['CMD-SHELL', 'true'], interval: 5 }, /field "healthcheck.interval" must be 0 \(the default\) or 1ms to 24.8 days, in nanoseconds; got 5/],
    [{ test: ['CMD-SHELL', 'true'], retries: -1 }, /field "healthcheck.retries" cannot be negative, got -1/],
    [{ test: ['CMD', 'true'], every: 1 }, /unknown field "every" in the healthcheck/],
  ];
  for (const [healthcheck, message] of bad) {
    await t.rejects(c.createTask({ runtime: 'host', args: ['true'], healthcheck: healthcheck as never }), { code: /^ERR_(INVALID|UNKNOWN)_FIELD$/, message });
  }
  t.same(await made(), before, 'nothing made');
});

t.test('runc: the check runs in the container (busybox sh): healthy', { timeout: 60_000 }, async (t) => {
  const events = await healthEvents(t, c, 'hc-runc');
  await runChecked(t, 'hc-runc', ['--health-cmd', 'hostname', '--health-interval', '100ms'], 'runc');
  await events.next('healthy');
  t.equal((await c.getTask('hc-runc')).health!.log[0]!.output, 'hc-runc\n', 'the task\'s hostname: run inside it');
  t.match(await psStatus(t, 'hc-runc'), /^Up .* \(healthy\)\n$/);
});

t.test('an adopted task (daemon SIGKILLed) goes on being checked by the next daemon, from starting', { timeout: 120_000 }, async (t) => {
  const own = daemonRoot(t);
  const dir = tmpDir(t);
  fs.writeFileSync(path.join(dir, 'up'), '');
  const first = await client(own);
  const events = await healthEvents(t, first, 'hc-adopt');
  const r = await taskio(t, own, 'run', '-d', '--name', 'hc-adopt', '--runtime', 'host', '--health-cmd', `test -e ${dir}/up`, '--health-interval', '100ms', '--health-retries', '1', '--', 'sleep', '1000');
  t.equal(r.code, 0, r.stderr);
  await events.next('healthy');
  first.close();
  const since = new Date();
  const pid = daemonPid(own);
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);
  fs.rmSync(path.join(dir, 'up'));
  const second = await client(own); // starts the next daemon, which adopts the task
  t.teardown(() => second.close());
  const again = await healthEvents(t, second, 'hc-adopt', since);
  await again.next('unhealthy');
  const view = await second.getTask('hc-adopt');
  t.equal(view.adopted, true, 'adopted');
  // At least the check that made it unhealthy: with a 100 ms interval, another may have failed since.
  t.ok(view.health?.status === 'unhealthy' && view.health.failingStreak >= 1, `its checks run again: ${JSON.stringify(view.health)}`);
  fs.writeFileSync(path.join(dir, 'up'), '');
  await again.next('healthy');
  t.same(again.seen, ['health_status: unhealthy', 'health_status: healthy']);
  await second.remove('hc-adopt', { force: true });
});

t.test('a check that puts a directory where its output FIFO was: the daemon warns, leaves it and goes on checking', { timeout: 60_000 }, async (t) => {
  // A host task's check can change its task's directory; what it leaves there is the task's
  // problem, not the daemon's (its removal after the check once threw from a timer: EISDIR ended the daemon).
  const own = daemonRoot(t);
  const dir = tmpDir(t);
  const d = await client(own);
  t.teardown(() => d.close());
  t.teardown(() => d.remove('hc-dir', { force: true }).catch(() => undefined));
  const pid = daemonPid(own);
  const check = `[ -e ${dir}/done ] && echo ok || { for f in ${own}/tasks/hc-dir/health-*-output; do rm "$f" && mkdir "$f"; done; touch ${dir}/done; echo replaced; }`;
  const r = await taskio(t, own, 'run', '-d', '--name', 'hc-dir', '--runtime', 'host', '--health-cmd', check, '--health-interval', '100ms', '--', 'sleep', '1000');
  t.equal(r.code, 0, r.stderr);
  await eventually(async () => ((await d.getTask('hc-dir')).health?.log.length ?? 0) >= 3, 'three checks of hc-dir');
  const health = (await d.getTask('hc-dir')).health!;
  t.same(health.log.map((l) => [l.exitCode, l.output]).slice(0, 2), [[0, 'replaced\n'], [0, 'ok\n']], 'the check after it ran as any other');
  t.equal(daemonPid(own), pid, 'the same daemon');
  const left = fs.readdirSync(path.join(own, 'tasks', 'hc-dir')).filter((n) => n.startsWith('health-'));
  t.equal(left.length, 1, 'the directory is left there (nothing else of the checks)');
  t.ok(fs.statSync(path.join(own, 'tasks', 'hc-dir', left[0]!)).isDirectory());
  const warned = fs.readFileSync(path.join(own, 'daemon.log'), 'utf8').split('\n').filter((l) => l.includes('health check\'s file name on something else'));
  t.equal(warned.length, 1, 'one warning');
  t.match(JSON.parse(warned[0]!), { level: 40, id: 'hc-dir', file: path.join(own, 'tasks', 'hc-dir', left[0]!) }, 'with the task id and the file');
});
