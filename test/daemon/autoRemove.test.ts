import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonClient } from '../../src/daemon/index.js';
import { processesByArgv } from '../../src/procArgv.js';
import { Collector } from '../helpers/common.js';
import { isGone } from '../fixtures/oci.js';
import { client, daemonPid, daemonRoot, eventually, taskDirs, waitGone } from './helpers.js';

const opts = { timeout: 90_000 };

async function connect(t: Test): Promise<{ root: string; c: DaemonClient }> {
  const root = daemonRoot(t);
  const c = await client(root);
  t.teardown(() => c.close());
  return { root, c };
}

t.test('autoRemove: the daemon removes the task once it exited; wait?condition=removed and a later wait get its code', opts, async (t) => {
  const { root, c } = await connect(t);
  const created = await c.createTask({ id: 'gone', runtime: 'host', args: ['sh', '-c', 'read x; exit 3'], stdin: true, autoRemove: true });
  t.equal(created.autoRemove, true, 'shown in the task');
  const removed = c.wait('gone', { condition: 'removed' });
  await c.closeStdin('gone');
  t.equal((await removed).exitCode, 3, 'the exit, once the task is gone');
  await t.rejects(c.getTask('gone'), { code: 'ERR_NOT_FOUND' }, 'no such task any more');
  t.same(taskDirs(root), [], 'its directory is gone');
  t.same((await c.listTasks({ all: true })).map((x) => x.id), []);
  t.equal((await c.wait('gone')).exitCode, 3, 'a wait after the removal still gets the code');
  // Its creator still connected and not asking: the task stays (for its attach), until asked.
  await c.createTask({ id: 'held', runtime: 'host', args: ['sh', '-c', 'exit 6'], autoRemove: true });
  t.equal((await c.wait('held')).exitCode, 6);
  t.equal((await c.getTask('held')).status, 'exited', 'exited, still there while its creator is connected');
  t.equal((await c.wait('held', { condition: 'removed' })).exitCode, 6, 'asked: removed');
  t.same(taskDirs(root), []);
  t.equal((await c.wait('gone', { condition: 'removed' })).exitCode, 3);
  // A new task with the id is not the old one: its own exit, not the kept one.
  await c.createTask({ id: 'gone', runtime: 'host', args: ['sh', '-c', 'exit 4'] });
  t.equal((await c.wait('gone')).exitCode, 4, 'the id taken again: the new task\'s code');
  await c.remove('gone');
  await t.rejects(c.wait('gone'), { code: 'ERR_NOT_FOUND' }, 'a task a client removed leaves no code behind');
});

t.test('autoRemove on runc: the runtime state goes at the exit, the task (its log, its exit) when its creator lets go', opts, async (t) => {
  const { root, c } = await connect(t);
  await c.createTask({ id: 'early', runtime: 'runc', args: ['sh', '-c', 'echo bye; exit 2'], autoRemove: true });
  t.equal((await c.wait('early')).exitCode, 2);
  // runc keeps a container's state in a directory named after it until its delete.
  const runcState = path.join(root, 'runtime', 'runc', 'early');
  await eventually(() => !fs.existsSync(runcState), "runc's state of the exited task to go");
  const task = await c.getTask('early');
  t.equal(task.status, 'exited', 'the task is still listed while its creator is connected');
  t.match(fs.readFileSync(task.logPath!, 'utf8'), /stdout F bye\n/, 'with its log');
  t.equal((await c.wait('early', { condition: 'removed' })).exitCode, 2, 'asked: removed, with its code');
  t.same(taskDirs(root), []);
  await t.rejects(c.getTask('early'), { code: 'ERR_NOT_FOUND' });
});

for (const runtime of ['runc', 'runsc'] as const) {
  t.test(`autoRemove on ${runtime}: an attached \`${runtime} run\` beside the task; exec, pause, kill as for any task; nothing left`, opts, async (t) => {
    const { root, c } = await connect(t);
    const runtimeRoot = path.join(root, 'runtime', runtime);
    const runs = (detached: boolean): number[] => processesByArgv((a) => a.includes(runtimeRoot) && a.includes('run') && a.includes('--detach') === detached);
    await c.createTask({ id: 'fg', runtime, args: ['sleep', '1000'], autoRemove: true });
    t.equal(runs(false).length, 1, 'run without --detach runs beside the task');
    const out = new Collector();
    const exec = await c.exec('fg', { args: ['sh', '-c', 'echo inside'], stdout: out });
    t.equal((await exec.wait()).exitCode, 0);
    t.equal(out.text(), 'inside\n', 'exec works in it');
    await c.pause('fg');
    t.equal((await c.getTask('fg')).status, 'paused');
    await c.resume('fg');
    await c.kill('fg', 'KILL');
    t.equal((await c.wait('fg', { condition: 'removed' })).exitCode, 137, 'the status the runtime exited with');
    await eventually(() => runs(false).length === 0, 'the attached run to end');
    t.same(fs.readdirSync(runtimeRoot).filter((e) => e.includes('fg')), [], 'the runtime removed its state itself');
    t.same(taskDirs(root), []);
    // With a memory limit (the OOM count is read from the cgroup after the exit) it detaches as for any task.
    await c.createTask({ id: 'limited', runtime, args: ['sleep', '1000'], autoRemove: true, limits: { memory: 64 << 20 } });
    t.same(runs(false), [], 'no attached run for a task with a memory limit');
    await c.kill('limited', 'KILL');
    t.equal((await c.wait('limited', { condition: 'removed' })).exitCode, 137);
    t.same(fs.readdirSync(runtimeRoot).filter((e) => e.includes('limited')), []);
  });
}

t.test('wait?condition=removed on a task without autoRemove resolves at its DELETE', opts, async (t) => {
  const { c } = await connect(t);
  await c.createTask({ id: 'kept', runtime: 'host', args: ['sh', '-c', 'exit 5'] });
  let removedYet = false;
  const removed = c.wait('kept', { condition: 'removed' }).then((e) => { removedYet = true; return e; });
  t.equal((await c.wait('kept')).exitCode, 5, 'exited');
  t.equal((await c.getTask('kept')).status, 'exited', 'and kept: no autoRemove');
  t.equal(removedYet, false, 'the removed wait still waits');
  await c.remove('kept');
  t.equal((await removed).exitCode, 5, 'answered at the removal');
});

t.test('autoRemove kept across a daemon SIGKILL: a task that exited while no daemon ran is removed by the next one', opts, async (t) => {
  const { root, c } = await connect(t);
  const task = await c.createTask({ id: 'orphan', runtime: 'host', args: ['sleep', '1000'], autoRemove: true });
  const first = daemonPid(root);
  process.kill(first, 'SIGKILL');
  await waitGone(first);
  process.kill(task.pid, 'SIGKILL');
  await eventually(() => isGone(task.pid), 'the task to die');
  // The next request starts a daemon; it adopts the exited task and removes it.
  const exit = await c.wait('orphan', { condition: 'removed' });
  t.not(daemonPid(root), first, 'a new daemon');
  t.match(exit, { exitCode: 137, signal: 'SIGKILL' }, 'its own status, from the exit recorder above the killed daemon');
  t.same(taskDirs(root), [], 'removed');
});
