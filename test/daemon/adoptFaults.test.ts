/**
 * Adoption when something of a task's directory is broken (real files, no mocks): a failure after
 * the daemon began watching the task's pid leaves no pidfd behind, and an exit file that cannot be
 * written does not keep the task from being adopted.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { DaemonClient } from '../../src/daemon/index.js';
import { signalTask } from '../../src/daemon/procStat.js';
import { isGone } from '../fixtures/oci.js';
import { client, daemonPid, daemonRoot, eventually, fdsOf, waitGone } from './helpers.js';

/** A root whose teardown runs `first` before the root's own cleanup (which removes its tasks through the daemon). */
async function daemonOf(t: Test, first: () => void = () => undefined): Promise<{ root: string; c: DaemonClient }> {
  const cleanups: Array<() => unknown> = [];
  const root = daemonRoot({ teardown: (fn) => cleanups.push(fn) });
  t.teardown(async () => {
    first();
    for (const fn of cleanups) await fn();
  });
  const c = await client(root);
  t.teardown(() => c.close());
  return { root, c };
}

/** SIGKILLs the daemon of `root` and waits until it is gone. */
async function killDaemon(root: string): Promise<void> {
  const pid = daemonPid(root);
  if (pid === 0) throw new Error(`no daemon runs in ${root}`); // kill(0) would be this test's own process group
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);
}

const daemonLog = (root: string): string => fs.readFileSync(path.join(root, 'daemon.log'), 'utf8');

t.test('host: a running task whose record has a health check of the wrong shape is dead, not adopted, and leaves no pidfd in the daemon', { timeout: 60_000 }, async (t) => {
  const { root, c } = await daemonOf(t);
  const task = await c.createTask({ id: 'bad', runtime: 'host', args: ['sleep', '1000'] });
  await killDaemon(root);
  // Valid JSON, but no command to check with: the task's object cannot be made (after the watch began).
  const file = path.join(root, 'tasks', 'bad', 'task.json');
  fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), healthcheck: { test: 5 } }));

  t.same((await c.listTasks({ all: true })).map((v) => [v.id, v.status]), [['bad', 'dead']], 'not adopted: dead (its record cannot be used)');
  t.match(daemonLog(root), /"id":"bad".*the task's record cannot be used/, 'the daemon log says so');
  t.notOk(isGone(task.pid), 'the task runs on');
  t.same(fdsOf(daemonPid(root)).filter((f) => f === 'anon_inode:[pidfd]'), [], 'no pidfd of the task (nor of its keeper) left in the daemon');
  signalTask(task.pid, null, 'SIGKILL', true);
  await waitGone(task.pid);
});

t.test('host: a task that exited while no daemon ran, whose exit file cannot be written (read-only directory), is adopted all the same, exited, with the error logged', { timeout: 60_000 }, async (t) => {
  let dir = '';
  // Detached (`-l`): the adopting daemon drains the task's FIFOs in the background after its exit,
  // through the bind mount, and an fd open there makes a plain umount fail EBUSY (then the rm did).
  const umount = (): void => { if (dir) spawnSync('umount', ['-l', dir], { stdio: 'ignore' }); };
  const { root, c } = await daemonOf(t, umount);
  const task = await c.createTask({ id: 'ro', runtime: 'host', args: ['sleep', '1000'] });
  const { pidStartTime } = JSON.parse(fs.readFileSync(path.join(root, 'tasks', 'ro', 'task.json'), 'utf8')) as { pidStartTime: string };
  const record = path.join(root, 'exits', `${task.pid}-${pidStartTime}.json`);
  await killDaemon(root);
  signalTask(task.pid, null, 'SIGKILL', true);
  await eventually(() => isGone(task.pid), 'the task to exit');
  // The task's directory read-only (a bind mount over itself): its exit cannot be written.
  dir = path.join(root, 'tasks', 'ro');
  for (const args of [['--bind', dir, dir], ['-o', 'remount,ro,bind', dir]]) {
    const r = spawnSync('mount', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mount ${args.join(' ')}: ${r.stderr}`);
  }

  const v = (await c.listTasks({ all: true })).find((x) => x.id === 'ro');
  t.equal(v?.status, 'exited', 'listed, exited');
  t.equal(v?.adopted, true, 'adopted');
  t.match(v?.exit, { exitCode: 137, signal: 'SIGKILL' }, 'with its status, from the exit recorder above the killed daemon');
  t.notOk(fs.existsSync(path.join(dir, 'exit')), 'no exit file (the next daemon finds the task so again)');
  t.ok(fs.existsSync(record), 'and the recorder\'s record of it is kept for that daemon');
  t.match(daemonLog(root), /"id":"ro".*cannot write the exit file/, 'the daemon log says why');
  umount();
  dir = '';
  await c.remove('ro');
  t.notOk(fs.existsSync(path.join(root, 'tasks', 'ro')), 'rm removes it');
  t.notOk(fs.existsSync(record), 'and the record of its exit');
});
