import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { DaemonClient, TaskEvent } from '../../src/daemon/index.js';
import { until } from '../helpers/common.js';
import { client, daemonPid, daemonRoot, logText, taskDirs, waitGone } from './helpers.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

const logOf = (id: string): Promise<string> => logText(c, id);

/** Collects task `id`'s events from now until `until` says stop (it sees each one as it comes). */
async function watch(id: string, until: (e: TaskEvent, seen: TaskEvent[]) => boolean): Promise<{ done: Promise<TaskEvent[]>; stop: () => void }> {
  const ac = new AbortController();
  const events = await c.events({ id, signal: ac.signal });
  const done = (async () => {
    const seen: TaskEvent[] = [];
    for await (const e of events) {
      seen.push(e);
      if (until(e, seen)) ac.abort();
    }
    return seen;
  })();
  // stop: ends the watch early (its stream would otherwise fail when the client closes).
  return { done, stop: () => ac.abort() };
}

t.test('on-failure:2 (runc): a failing task runs three times, then stays exited; each run appends to the log', { timeout: 90_000 }, async (t) => {
  const id = 'fails';
  const w = await watch(id, (_e, seen) => seen.filter((x) => x.type === 'exit').length === 3);
  await c.createTask({ id, runtime: 'runc', args: ['sh', '-c', 'echo run; exit 3'], restartPolicy: { name: 'on-failure', maximumRetryCount: 2 } });
  const seen = await w.done;
  t.same(seen.map((e) => e.type).filter((x) => x === 'exit' || x === 'restart'), ['exit', 'restart', 'exit', 'restart', 'exit'], 'exit, restart, twice, then the last exit');
  const view = await c.getTask(id);
  t.equal(view.status, 'exited', 'not restarting any more');
  t.equal(view.restartCount, 2);
  t.same(view.exit?.exitCode, 3);
  await c.wait(id);
  t.equal(await logOf(id), 'run\nrun\nrun\n', 'the output of every run');
  // A start by hand counts afresh: the policy gives it its two restarts again.
  const w2 = await watch(id, (_e, seen) => seen.filter((x) => x.type === 'exit').length === 3);
  t.equal((await c.start(id)).restartCount, 0, 'start: restartCount 0');
  t.same((await w2.done).map((e) => e.type).filter((x) => x === 'exit' || x === 'restart'), ['exit', 'restart', 'exit', 'restart', 'exit'], 'two restarts again');
  t.equal((await c.getTask(id)).restartCount, 2);
  await c.remove(id);
  t.same(taskDirs(root), [], 'rm leaves nothing');
});

t.test('on-failure does not restart a clean exit; "restarting" shows while a restart waits', { timeout: 60_000 }, async (t) => {
  await c.createTask({ id: 'clean', runtime: 'host', args: ['true'], restartPolicy: { name: 'on-failure' } });
  await c.wait('clean');
  const clean = await c.getTask('clean');
  t.equal(clean.status, 'exited');
  t.equal(clean.restartCount, 0);
  // always: each exit is followed by a restart, the waits growing (100, 200, 400 ms …). An inspect
  // right after an exit may find the next run already going, as docker's may (a round trip longer
  // than the wait): the task is looked at until it waits, which it does nearly all the time.
  await c.createTask({ id: 'loop', runtime: 'host', args: ['sh', '-c', 'exit 5'], restartPolicy: { name: 'always' } });
  let view = await c.getTask('loop');
  await until(async () => (view = await c.getTask('loop')).status === 'restarting', 20_000, 'loop restarting');
  t.equal(view.status, 'restarting', 'waiting to run again');
  t.ok((await c.listTasks()).some((x) => x.id === 'loop'), 'listed without all, as docker\'s ps lists a restarting container');
  t.equal(view.exit?.exitCode, 5);
  await c.stop('loop');
  t.equal((await c.getTask('loop')).status, 'exited', 'a stop calls the restart off');
  t.equal(JSON.parse(fs.readFileSync(path.join(root, 'tasks', 'loop', 'task.json'), 'utf8')).manuallyStopped, true, 'and is recorded for a later daemon');
  await c.remove('loop');
  await c.remove('clean');
});

t.test('always (host): restarts after a clean exit; stop ends it for good; start runs it again', { timeout: 60_000 }, async (t) => {
  const id = 'always';
  const gate = path.join(root, 'gate');
  execFileSync('mkfifo', [gate]);
  // Each run prints, then waits for a line on the gate, then exits 0. A run is stopped only once it
  // printed (a TERM before the echo would leave its line out).
  const runs = async (n: number): Promise<void> => until(async () => (await logOf(id)).split('\n').filter((l) => l === 'run').length >= n, 20_000, `run ${n}`);
  const w = await watch(id, (e) => e.type === 'restart');
  const first = await c.createTask({ id, runtime: 'host', args: ['sh', '-c', `echo run; read x < ${gate}; exit 0`], restartPolicy: { name: 'always' } });
  fs.writeFileSync(gate, 'go\n');
  await w.done;
  const second = await c.getTask(id);
  t.equal(second.status, 'running', 'running again');
  t.not(second.pid, first.pid, 'a new process');
  t.equal(second.restartCount, 1);
  await runs(2);
  await c.stop(id, { timeout: 5 });
  const stopped = await c.getTask(id);
  t.equal(stopped.status, 'exited', 'stopped by hand: not restarted');
  t.equal(stopped.exit?.exitCode, 143, 'by the stop signal (TERM)');
  const again = await c.start(id);
  t.equal(again.status, 'running', 'start runs it again');
  t.equal(again.restartCount, 0, 'a start by hand counts afresh (docker\'s start resets RestartCount)');
  await runs(3);
  const restarted = await c.restart(id, { timeout: 5 });
  t.not(restarted.pid, again.pid, 'restart: a new process');
  await runs(4);
  await c.kill(id, 'KILL');
  await c.wait(id);
  t.equal((await c.getTask(id)).status, 'exited', 'killed by hand: not restarted');
  t.equal((await logOf(id)).split('\n').filter((l) => l === 'run').length, 4, 'four runs in one log');
  await c.remove(id);
});

t.test('stop sends the task\'s stop signal and waits its stop timeout, then kills', { timeout: 60_000 }, async (t) => {
  await c.createTask({ id: 'usr1', runtime: 'runc', args: ['sh', '-c', 'trap "echo bye; exit 0" USR1; echo ready; while :; do sleep 0.1; done'], stopSignal: 'usr1' });
  t.equal((await c.getTask('usr1')).stopSignal, 'SIGUSR1', 'named as the kernel names it');
  // Stopped once its trap is set (a signal before that would end it by the shell's default action).
  const ready = (id: string): Promise<void> => until(async () => (await logOf(id)).includes('ready\n'), 20_000, `${id} ready`);
  await ready('usr1');
  const w = await watch('usr1', (e) => e.type === 'exit');
  await c.stop('usr1');
  t.equal((await w.done).at(-1)?.exitCode, 0, 'the trap ran: exit 0');
  await c.createTask({ id: 'stubborn', runtime: 'host', args: ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.1; done'], stopTimeout: 1 });
  t.equal((await c.getTask('stubborn')).stopTimeout, 1);
  await ready('stubborn');
  await c.stop('stubborn');
  t.equal((await c.getTask('stubborn')).exit?.exitCode, 137, 'killed once its stop timeout passed');
  await t.rejects(c.stop('stubborn', { timeout: -2 }), { code: 'ERR_INVALID_FIELD', status: 400 });
  await t.rejects(c.createTask({ runtime: 'host', args: ['true'], stopSignal: 'NOPE' }), { code: 'ERR_INVALID_SIGNAL', status: 400 });
  await t.rejects(c.createTask({ runtime: 'host', args: ['true'], restartPolicy: { name: 'always' }, autoRemove: true }), { code: 'ERR_INVALID_FIELD', message: /a restart policy and autoRemove/ });
  await t.rejects(c.start('nosuch'), { code: 'ERR_NOT_FOUND', status: 404 });
  await c.createTask({ id: 'gone-soon', runtime: 'host', args: ['sleep', '1000'], autoRemove: true });
  await c.kill('gone-soon', 'KILL');
  await c.wait('gone-soon');
  const settled = await c.start('gone-soon').then(() => null, (err: unknown) => err);
  t.match(settled, { code: /^ERR_(INVALID_STATE|NOT_FOUND)$/ }, 'an auto-removed task is not started again (refused, or already gone)');
  await c.remove('usr1');
  await c.remove('stubborn');
});

t.test('unless-stopped: a task that exited while no daemon ran is started again by the next daemon', { timeout: 90_000 }, async (t) => {
  const id = 'survivor';
  const gate = path.join(root, 'gate2');
  execFileSync('mkfifo', [gate]);
  const task = await c.createTask({ id, runtime: 'host', args: ['sh', '-c', `echo run; read x < ${gate}; exit 1`], restartPolicy: { name: 'unless-stopped' } });
  const first = daemonPid(root);
  process.kill(first, 'SIGKILL');
  await waitGone(first);
  fs.writeFileSync(gate, 'go\n'); // the task reads it and exits while no daemon runs
  await waitGone(task.pid);
  // The next request starts a daemon, which adopts the exited task and starts it again.
  const w = await watch(id, (e) => e.type === 'restart');
  const adopted = await c.getTask(id);
  t.ok(adopted.status === 'restarting' || adopted.status === 'running', `restarted, or about to be (${adopted.status})`);
  if (adopted.status === 'running') w.stop(); // restarted before the watch began
  await w.done;
  const view = await c.getTask(id);
  t.equal(view.status, 'running');
  t.equal(view.restartCount, 0, 'a restart as the daemon starts counts afresh, as docker\'s');
  await c.remove(id, { force: true });
});

t.test('always: stopped by hand, back with the next daemon, then restarted after each exit as before', { timeout: 90_000 }, async (t) => {
  const id = 'comeback';
  const gate = path.join(root, 'gate3');
  execFileSync('mkfifo', [gate]);
  const runs = async (n: number): Promise<void> => until(async () => (await logOf(id)).split('\n').filter((l) => l === 'run').length >= n, 20_000, `run ${n}`);
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', `echo run; read x < ${gate}; exit 1`], restartPolicy: { name: 'always' } });
  await runs(1);
  await c.stop(id, { timeout: 5 });
  const first = daemonPid(root);
  process.kill(first, 'SIGKILL');
  await waitGone(first);
  // The next request starts a daemon, which starts the always task again (and forgets the stop).
  await runs(2);
  await until(async () => (await c.getTask(id)).status === 'running', 20_000, 'running again');
  const record = JSON.parse(fs.readFileSync(path.join(root, 'tasks', id, 'task.json'), 'utf8'));
  t.equal(record.manuallyStopped, undefined, 'the stop by hand is forgotten');
  t.equal(record.restartCount, 0, 'counted afresh, as docker\'s daemon start');
  fs.writeFileSync(gate, 'go\n'); // this run exits 1 by itself: the policy restarts it
  await runs(3);
  await until(async () => (await c.getTask(id)).restartCount === 1, 20_000, 'restartCount 1');
  await c.remove(id, { force: true });
});

t.test('restart racing rm -f: the start finds the task gone (404) or its new run is removed; never an internal error, nothing left', { timeout: 120_000 }, async (t) => {
  // The start's relaunch and the removal meet in a few ms of each other: about one race in six hit
  // the removed directory before (a 500), so twenty make it all but certain.
  for (let i = 0; i < 20; i++) {
    const id = `race${i}`;
    await c.createTask({ id, runtime: 'host', args: ['sleep', '600'] });
    const [restarted, removed] = await Promise.allSettled([c.restart(id, { timeout: 1 }), c.remove(id, { force: true })]);
    t.equal(removed.status, 'fulfilled', `${id}: rm -f removes it`);
    if (restarted.status === 'rejected') t.match(restarted.reason, { code: 'ERR_NOT_FOUND', status: 404, message: /^no such task: / }, `${id}: no such task`);
    else await waitGone(restarted.value.pid, 5000); // its new run went with the removal
    await t.rejects(c.getTask(id), { code: 'ERR_NOT_FOUND' });
    t.same(taskDirs(root), [], `${id}: its directory is gone`);
  }
  // A removal that was refused leaves the task as it was, to be started again.
  await c.createTask({ id: 'kept', runtime: 'host', args: ['sleep', '600'] });
  await t.rejects(c.remove('kept'), { code: 'ERR_INVALID_STATE', status: 409 });
  await c.stop('kept', { timeout: 1 });
  t.equal((await c.start('kept')).status, 'running', 'started again after a refused rm');
  await c.remove('kept', { force: true });
});

t.test('a restart that cannot start (a directory where its exit file goes): logged with the task id, the task stays exited, rm removes it', { timeout: 60_000 }, async (t) => {
  const id = 'exit-dir';
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  const exitFile = path.join(root, 'tasks', id, 'exit');
  // The task's directory is the host task's to change: the restart found a directory to remove
  // there, and failed from its timer without a word, the task 'restarting' for good.
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', `mkdir ${exitFile}; exit 3`], restartPolicy: { name: 'always' } });
  const failed = (): string[] => fs.readFileSync(path.join(root, 'daemon.log'), 'utf8').split('\n')
    .filter((l) => l.includes('the task could not be started: it stays exited') && l.includes(`"id":"${id}"`));
  await until(() => failed().length > 0, 20_000, 'the failed restart in the daemon log');
  t.match(JSON.parse(failed()[0]!), { level: 50, err: { message: /EISDIR/ } }, 'an error, naming the directory\'s');
  await until(async () => (await c.getTask(id)).status === 'exited', 20_000, 'exited, not restarting');
  const view = await c.getTask(id);
  t.same([view.status, view.exit?.exitCode, view.restartCount], ['exited', 3, 0], 'the run that ended, as it was');
  await c.remove(id, { force: true });
  await t.rejects(c.getTask(id), { code: 'ERR_NOT_FOUND' }, 'removed');
});
