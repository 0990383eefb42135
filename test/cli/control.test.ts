import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DaemonClient } from '../../src/daemon/index.js';
import { Collector, until } from '../helpers/common.js';
import { isGone, processesMentioning } from '../fixtures/oci.js';
import { client, daemonRoot, waitGone } from '../daemon/helpers.js';
import { taskio } from './taskioCommand.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

/** The task's log so far (stdout). */
async function logOf(id: string): Promise<string> {
  const out = new Collector();
  await c.logs(id, { stdout: out });
  return out.text();
}

/** Creates a host task and waits until it printed `ready` (its traps are set). */
async function readyTask(id: string, script: string): Promise<number> {
  const view = await c.createTask({ id, runtime: 'host', args: ['sh', '-c', `${script}; echo ready; sleep 1000 & wait`] });
  await until(async () => (await logOf(id)).includes('ready\n'), 20_000, `${id} to be ready`);
  return view.pid;
}

t.test('kill: KILL by default, -s SIG delivers that signal; each id printed; an exited task is refused', { timeout: 120_000 }, async (t) => {
  await readyTask('kill-usr1', 'trap \'kill $!; echo got USR1; exit 9\' USR1');
  await readyTask('kill-def', 'true');
  const [usr1, def] = await Promise.all([taskio(t, root, 'kill', '-s', 'USR1', 'kill-usr1'), taskio(t, root, 'kill', 'kill-def')]);
  t.same([usr1.code, usr1.stdout, usr1.stderr], [0, 'kill-usr1\n', '']);
  t.same([def.code, def.stdout, def.stderr], [0, 'kill-def\n', '']);
  t.equal((await c.wait('kill-usr1')).exitCode, 9, 'the trap ran');
  t.match(await logOf('kill-usr1'), 'got USR1\n');
  const killed = await c.wait('kill-def');
  t.same([killed.exitCode, killed.signal], [137, 'SIGKILL']);
  const again = await taskio(t, root, 'kill', 'kill-def');
  t.equal(again.code, 125);
  t.equal(again.stdout, '');
  t.equal(again.stderr, 'taskio kill: task kill-def is not running\n');
});

t.test('kill -s and --stop-signal take docker\'s real-time names (RTMIN+n, SIGRTMAX-n)', { timeout: 120_000 }, async (t) => {
  // sh traps real-time signals by number: RTMIN+1 is 35 and RTMAX-1 is 63 on Linux, as in docker.
  const script = 'trap \'echo got 35\' 35; trap \'kill $!; echo got 63; exit 7\' 63; echo ready; sleep 1000 & while :; do wait; done';
  await c.createTask({ id: 'kill-rt', runtime: 'host', args: ['sh', '-c', script] });
  await until(async () => (await logOf('kill-rt')).includes('ready\n'), 20_000, 'kill-rt to be ready');
  const first = await taskio(t, root, 'kill', '-s', 'RTMIN+1', 'kill-rt');
  t.same([first.code, first.stdout, first.stderr], [0, 'kill-rt\n', '']);
  await until(async () => (await logOf('kill-rt')).includes('got 35\n'), 20_000, 'the RTMIN+1 trap');
  const second = await taskio(t, root, 'kill', '-s', 'sigrtmax-1', 'kill-rt');
  t.same([second.code, second.stdout, second.stderr], [0, 'kill-rt\n', '']);
  t.equal((await c.wait('kill-rt')).exitCode, 7, 'the RTMAX-1 trap ran');
  const run = await taskio(t, root, 'create', '--name', 'stop-rt', '--runtime', 'host', '--stop-signal', 'SIGRTMIN+1', 'true');
  t.same([run.code, run.stderr], [0, '']);
  t.equal((await c.getTask('stop-rt')).stopSignal, 'SIGRTMIN+1', 'kept under its name');
  await c.remove('stop-rt', { force: true });
  for (const name of ['RTMIN+16', 'RTMAX-15', 'RTMIN-1']) {
    const bad = await taskio(t, root, 'kill', '-s', name, 'kill-rt');
    t.same([bad.code, bad.stderr], [125, `taskio kill: invalid argument "${name}" for "-s, --signal" flag: invalid signal: ${name}. See 'taskio kill --help'.\n`], name);
  }
});

t.test('an exited task: every verb that needs it running refuses it in docker\'s one wording, 125', { timeout: 120_000 }, async (t) => {
  await c.createTask({ id: 'gone', runtime: 'host', args: ['true'] });
  await c.wait('gone');
  // cp is not one of them: it copies out of an exited task through a helper (cp.test.ts).
  const verbs = [['top', 'gone'], ['exec', 'gone', 'true'], ['pause', 'gone'], ['kill', 'gone'], ['attach', 'gone']];
  const results = await Promise.all(verbs.map((argv) => taskio(t, root, ...argv)));
  results.forEach((r, i) => {
    const verb = verbs[i]![0]!;
    t.same([r.code, r.stdout, r.stderr], [125, '', `taskio ${verb}: task gone is not running\n`], verb);
  });
  const unpause = await taskio(t, root, 'unpause', 'gone');
  t.same([unpause.code, unpause.stderr], [125, 'taskio unpause: task gone is not paused\n'], 'unpause: docker\'s "is not paused"');
  t.equal((await c.getTask('gone')).status, 'exited', 'left as it was');
});

t.test('stop -t 1: TERM, then KILL for a task that ignores TERM; a task that heeds it just exits', { timeout: 120_000 }, async (t) => {
  await readyTask('stop-deaf', 'trap "" TERM');
  await readyTask('stop-ok', 'trap \'kill $!; exit 0\' TERM');
  await readyTask('stop-paused', 'trap \'kill $!; exit 5\' TERM');
  await c.pause('stop-paused');
  const [r, p] = await Promise.all([taskio(t, root, 'stop', '-t', '1', 'stop-deaf', 'stop-ok'), taskio(t, root, 'stop', '-t', '60', 'stop-paused')]);
  t.same([r.code, r.stdout, r.stderr], [0, 'stop-deaf\nstop-ok\n', ''], 'each id once stopped, in the order given');
  t.same([p.code, p.stdout, p.stderr], [0, 'stop-paused\n', '']);
  const paused = await c.getTask('stop-paused');
  t.same([paused.status, paused.exit?.exitCode], ['exited', 5], 'a paused task is resumed after the signal, and acts on it');
  const deaf = await c.getTask('stop-deaf');
  t.same([deaf.status, deaf.exit?.exitCode, deaf.exit?.signal], ['exited', 137, 'SIGKILL'], 'killed after the timeout');
  const ok = await c.getTask('stop-ok');
  t.same([ok.status, ok.exit?.exitCode], ['exited', 0], 'stopped by TERM');
  const again = await taskio(t, root, 'stop', 'stop-ok');
  t.same([again.code, again.stdout], [0, 'stop-ok\n'], 'stopping an exited task succeeds, as docker');
});

t.test('run --restart, --stop-signal, --stop-timeout; start and restart as docker\'s', { timeout: 120_000 }, async (t) => {
  const gate = path.join(root, 'cli-gate');
  fs.mkdirSync(gate);
  // Fails until the gate file exists: on-failure restarts it until then.
  const script = `echo run; test -e ${gate}/open || exit 3; trap 'echo bye; exit 0' USR2; echo ready; sleep 1000 & wait`;
  const r = await taskio(t, root, 'run', '-d', '--name', 'policy', '--runtime', 'host', '--restart', 'on-failure', '--stop-signal', 'USR2', '--stop-timeout', '30', '--', 'sh', '-c', script);
  t.same([r.code, r.stdout, r.stderr], [0, 'policy\n', '']);
  await until(async () => (await c.getTask('policy')).restartCount >= 1, 20_000, 'a restart');
  fs.writeFileSync(path.join(gate, 'open'), '');
  await until(async () => (await logOf('policy')).includes('ready\n'), 60_000, 'a run that stays up');
  const view = await c.getTask('policy');
  t.same([view.restartPolicy, view.stopSignal, view.stopTimeout], [{ name: 'on-failure' }, 'SIGUSR2', 30]);
  const ps = await taskio(t, root, 'ps');
  t.match(ps.stdout, /policy +host .* Up /, 'ps shows it up');
  const stop = await taskio(t, root, 'stop', 'policy');
  t.same([stop.code, stop.stdout], [0, 'policy\n']);
  t.equal((await c.getTask('policy')).exit?.exitCode, 0, 'stopped by its stop signal (the trap ran)');
  const start = await taskio(t, root, 'start', 'policy', 'nosuch');
  t.same([start.code, start.stdout, start.stderr], [125, 'policy\n', 'taskio start: no such task: nosuch\n'], 'started again; the unknown one named');
  t.equal((await c.getTask('policy')).status, 'running');
  const before = (await c.getTask('policy')).pid;
  const restart = await taskio(t, root, 'restart', '-t', '5', 'policy');
  t.same([restart.code, restart.stdout], [0, 'policy\n']);
  t.not((await c.getTask('policy')).pid, before, 'a new process');
  await c.remove('policy', { force: true });
  const bad: [string[], string][] = [
    [['--restart', 'always', '--rm'], 'taskio run: conflicting options: --restart and --rm\n'],
    [['--restart', 'always:2'], `taskio run: invalid argument "always:2" for "--restart" flag: maximum retry count cannot be used with restart policy 'always'. See 'taskio run --help'.\n`],
    [['--stop-signal', 'NOPE'], `taskio run: invalid argument "NOPE" for "--stop-signal" flag: invalid signal: NOPE. See 'taskio run --help'.\n`],
  ];
  for (const [flags, line] of bad) {
    const b = await taskio(t, root, 'run', '--runtime', 'host', ...flags, 'true');
    t.same([b.code, b.stderr], [125, line], flags.join(' '));
  }
});

t.test('rm: a running task is refused, naming it; -f kills and removes everything; errors do not stop the others', { timeout: 120_000 }, async (t) => {
  const pid = await readyTask('rm-run', 'true');
  await c.createTask({ id: 'rm-done', runtime: 'host', args: ['true'] });
  await c.wait('rm-done');
  const refused = await taskio(t, root, 'rm', 'rm-run');
  t.equal(refused.code, 125);
  t.equal(refused.stdout, '');
  t.equal(refused.stderr, 'taskio rm: cannot remove running task rm-run: stop it first, or force the removal with rm -f\n');
  t.equal((await c.getTask('rm-run')).status, 'running', 'still there');
  const mixed = await taskio(t, root, 'rm', 'nope', 'rm-done');
  t.equal(mixed.code, 125);
  t.equal(mixed.stdout, 'rm-done\n', 'the one found is removed');
  t.equal(mixed.stderr, 'taskio rm: no such task: nope\n');
  const forced = await taskio(t, root, 'rm', '-f', 'nope', 'rm-run', 'rm-run');
  t.same([forced.code, forced.stdout, forced.stderr], [0, 'rm-run\n', ''], 'with -f, a task that is not there (or no longer) is no error and prints nothing, as docker rm -f');
  await waitGone(pid);
  t.ok(isGone(pid), 'its process is gone');
  t.notOk(fs.existsSync(path.join(root, 'tasks', 'rm-run')), 'its directory is gone');
  t.same(processesMentioning(path.join(root, 'tasks', 'rm-run')), []);
  t.same((await c.listTasks({ all: true })).map((v) => v.id).filter((id) => id.startsWith('rm-')), [], 'both removed');
});

t.test('rm -v and -fv (docker\'s anonymous volumes, which taskio never makes): taken, the task removed, a bind mount\'s host files kept', { timeout: 120_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-rm-v-'));
  fs.writeFileSync(path.join(dir, 'kept'), 'here\n');
  t.teardown(async () => {
    await Promise.all(['rmv-bind', 'rmv-done'].map((id) => c.remove(id, { force: true }).catch(() => undefined)));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const bound = await taskio(t, root, 'run', '-d', '--name', 'rmv-bind', '--runtime', 'runc', '-v', `${dir}:/data`, '--', 'sleep', '1000');
  t.equal(bound.code, 0, bound.stderr);
  await c.createTask({ id: 'rmv-done', runtime: 'host', args: ['true'] });
  await c.wait('rmv-done');
  const [fv, volumes] = await Promise.all([taskio(t, root, 'rm', '-fv', 'rmv-bind'), taskio(t, root, 'rm', '--volumes', 'rmv-done')]);
  t.same([fv.code, fv.stdout, fv.stderr], [0, 'rmv-bind\n', ''], 'rm -fv: killed and removed');
  t.same([volumes.code, volumes.stdout, volumes.stderr], [0, 'rmv-done\n', ''], 'rm --volumes of an exited task');
  t.same((await c.listTasks({ all: true })).map((v) => v.id).filter((id) => id.startsWith('rmv-')), [], 'both removed');
  t.equal(fs.readFileSync(path.join(dir, 'kept'), 'utf8'), 'here\n', 'the bind mount\'s source is kept, as docker\'s rm -v keeps it');
});

t.test('runsc: pause and unpause, with ps, top and stats --no-stream on the sandbox', { timeout: 240_000 }, async (t) => {
  const id = 'ctl-runsc';
  await c.createTask({ id, runtime: 'runsc', args: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done'] });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  await until(async () => (await logOf(id)) !== '', 30_000, 'output');
  const [top, stats] = await Promise.all([taskio(t, root, 'top', id), taskio(t, root, 'stats', '--no-stream', id)]);
  t.equal(top.code, 0);
  t.match(top.stdout, /^PID +PPID +COMMAND\n1 +0 +sh\n/, 'the sandbox\'s own pids from runsc\'s table, the init (sh) first');
  t.equal(stats.code, 0);
  t.match(stats.stdout, new RegExp(`\\n${id} +\\d+\\.\\d\\d% +[\\d.]+(B|KiB|MiB|GiB) / [\\d.]+(MiB|GiB) +\\d+\\.\\d\\d% +[1-9]\\d*\\n$`));

  const paused = await taskio(t, root, 'pause', id);
  t.same([paused.code, paused.stdout, paused.stderr], [0, `${id}\n`, '']);
  const [ps, twice] = await Promise.all([taskio(t, root, 'ps'), taskio(t, root, 'pause', id)]);
  t.match(ps.stdout, new RegExp(`\\n${id} .* Up [^\\n]* \\(Paused\\) `), 'ps shows it paused');
  t.equal(twice.code, 125);
  t.equal(twice.stderr, `taskio pause: task ${id}: cannot pause a paused task\n`);

  const resumed = await taskio(t, root, 'unpause', id);
  t.same([resumed.code, resumed.stdout, resumed.stderr], [0, `${id}\n`, '']);
  t.equal((await c.getTask(id)).status, 'running');
  const lines = (await logOf(id)).split('\n').length;
  await until(async () => (await logOf(id)).split('\n').length > lines + 2, 30_000, 'the counter to go on after unpause');
  const notPaused = await taskio(t, root, 'unpause', id);
  t.equal(notPaused.code, 125);
  t.equal(notPaused.stderr, `taskio unpause: task ${id} is not paused\n`);
});

t.test('a paused task: kill (KILL, its stop signal), stop and rm -f end it, as docker resumes it to act on them; another signal stays pending (runc, host: WINCH, which does not end a stopped process as USR1 would) or is refused (runsc)', { timeout: 240_000 }, async (t) => {
  const runtimes = ['runc', 'runsc', 'host'] as const;
  const paused = async (id: string, runtime: typeof runtimes[number]): Promise<void> => {
    await c.createTask({ id, runtime, args: ['sleep', '1000'] });
    t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
    await c.pause(id);
  };
  await Promise.all(runtimes.flatMap((r) => [paused(`pk-${r}`, r), paused(`ps-${r}`, r), paused(`pr-${r}`, r), paused(`pu-${r}`, r)]));
  for (const r of runtimes) {
    const k = await taskio(t, root, 'kill', `pk-${r}`);
    t.same([k.code, k.stdout, k.stderr], [0, `pk-${r}\n`, ''], `${r}: kill of a paused task`);
    t.same([(await c.wait(`pk-${r}`)).exitCode, (await c.getTask(`pk-${r}`)).status], [137, 'exited'], `${r}: it ended (137), not left paused with KILL pending`);
    await c.stop(`ps-${r}`, { timeout: 1 });
    t.equal((await c.getTask(`ps-${r}`)).status, 'exited', `${r}: stop ended it`);
    await c.remove(`pr-${r}`, { force: true });
    await t.rejects(c.getTask(`pr-${r}`), { code: 'ERR_NOT_FOUND' }, `${r}: rm -f removed it`);
    const u = await taskio(t, root, 'kill', '-s', 'WINCH', `pu-${r}`);
    if (r === 'runsc') {
      t.same([u.code, u.stderr], [125, `taskio kill: cannot send signal 28 to paused task pu-runsc: runsc signals only a running sandbox (unpause it first)\n`], 'runsc: another signal is refused');
    } else {
      t.same([u.code, u.stderr], [0, ''], `${r}: another signal is sent`);
    }
    t.equal((await c.getTask(`pu-${r}`)).status, 'paused', `${r}: and the task stays paused`);
  }
});

t.test('bad input: unknown flag, missing argument, bad value, unknown id → one line naming it, 125, nothing changed', { timeout: 120_000 }, async (t) => {
  const before = fs.readdirSync(path.join(root, 'tasks')).sort();
  const cases: Array<[string[], string]> = [
    [['kill', '--bogus', 'a'], "taskio kill: unknown flag: --bogus. See 'taskio kill --help'.\n"],
    [['stop'], `taskio stop: "taskio stop" requires at least 1 argument. See 'taskio stop --help'.\n`],
    [['stop', '-t', 'soon', 'a'], `taskio stop: invalid argument "soon" for "-t, --time" flag: strconv.ParseInt: parsing "soon": invalid syntax. See 'taskio stop --help'.\n`],
    [['kill', '-s', 'NOPE', 'a'], `taskio kill: invalid argument "NOPE" for "-s, --signal" flag: invalid signal: NOPE. See 'taskio kill --help'.\n`],
    [['pause', 'no-such'], 'taskio pause: no such task: no-such\n'],
    [['stop', '../etc'], 'taskio stop: invalid task id "../etc": it must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}$\n'],
  ];
  const results = await Promise.all(cases.map(([argv]) => taskio(t, root, ...argv)));
  for (const [i, [argv, line]] of cases.entries()) {
    t.equal(results[i]!.code, 125, argv.join(' '));
    t.equal(results[i]!.stderr, line);
    t.equal(results[i]!.stdout, '');
  }
  t.same(fs.readdirSync(path.join(root, 'tasks')).sort(), before, 'no task made or removed');
});
