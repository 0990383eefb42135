/**
 * A task whose record the next daemon cannot use (docker's `dead`): JSON that does not parse, a
 * field of the wrong type, a required field missing, a path that climbs — broken while no daemon runs, on real host and
 * runc tasks. It is listed `dead` with the reason, every verb but rm/inspect/ps is refused with a
 * typed 409, and `rm -f` leaves nothing the daemon could identify as the task's (process, keeper,
 * cgroup, runtime state, directory). Also: `kill` of an adopted task whose process just ended,
 * before the daemon's pidfd poll saw it, is the 409 of a task that is not running.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { DaemonClient } from '../../src/daemon/index.js';
import { cgroupsOf, client, daemonPid, daemonRoot, eventually, keepersOf, sleepers, taskLeftovers, waitGone } from './helpers.js';
import { taskio } from '../cli/taskioCommand.js';

/** Each task sleeps with this argument: its processes are found by it, whatever the runtime. */
const marker = String(100_000 + crypto.randomInt(800_000));

/** The task processes of this file. */
const taskProcesses = (): number[] => sleepers(marker);

async function killDaemon(root: string): Promise<void> {
  const pid = daemonPid(root);
  if (pid === 0) throw new Error(`no daemon runs in ${root}`); // kill(0) would be this test's own process group
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);
}

async function refusal(p: Promise<unknown>): Promise<{ status?: number; code?: string; message: string }> {
  return p.then(() => { throw new Error('not refused'); }, (err: { status?: number; code?: string; message: string }) => err);
}

/** How each case breaks a record (`rec`: the parsed one); null: the text written is not JSON. */
const breakages: Record<string, { edit: (rec: Record<string, unknown>) => string; reason: RegExp; killsProcess: boolean }> = {
  'JSON that does not parse': { edit: (rec) => JSON.stringify(rec).slice(0, 40), reason: /not valid JSON|JSON/i, killsProcess: false },
  'a field of the wrong type (healthcheck.test: 5)': { edit: (rec) => JSON.stringify({ ...rec, healthcheck: { test: 5 } }), reason: /healthcheck\.test/, killsProcess: true },
  'a required field missing (bundle)': { edit: ({ bundle: _b, ...rec }) => JSON.stringify(rec), reason: /missing field bundle/, killsProcess: true },
  // Joined to the memory hierarchy's mount to be read: one that climbs out of it is refused.
  'an OOM counter whose cgroup climbs (oomCounter.cgroup: /../../etc)': { edit: (rec) => JSON.stringify({ ...rec, oomCounter: { cgroup: '/../../etc', base: 0 } }), reason: /oomCounter\.cgroup .*"\/\.\.\/\.\.\/etc"/, killsProcess: true },
};

const runtimes = ['host', 'runc'] as const;

for (const runtime of runtimes) {
  for (const [what, b] of Object.entries(breakages)) {
    t.test(`${runtime}: a task record with ${what} makes the task dead: listed, refused, removed by rm -f`, { timeout: 90_000 }, async (t: Test) => {
      const root = daemonRoot(t);
      const c: DaemonClient = await client(root);
      t.teardown(() => c.close());
      const id = 'broken';
      const task = await c.createTask({ id, runtime, args: ['sleep', marker] });
      t.teardown(async () => { for (const p of taskProcesses()) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } });
      // Its pid may still be the runtime's (the host's job wrapper, runc init) before its exec of sleep.
      await eventually(() => taskProcesses().length === 1, 'the task\'s sleep to run', 10_000);
      const before = taskProcesses();
      t.equal(before.length, 1, 'the task runs');
      await killDaemon(root);
      const file = path.join(root, 'tasks', id, 'task.json');
      fs.writeFileSync(file, b.edit(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>));

      const listed = (await c.listTasks({ all: true })).find((v) => v.id === id);
      t.equal(listed?.status, 'dead', 'ps -a lists it dead');
      t.match(listed?.reason, b.reason, 'with the reason');
      t.same((await c.listTasks()).map((v) => v.id), [], 'ps without -a does not');
      const shown = await c.getTask(id);
      t.equal(shown.status, 'dead', 'inspect shows it dead');
      t.match(shown.reason, b.reason, 'inspect shows the reason');
      for (const [verb, call] of [['kill', () => c.kill(id, 'KILL')], ['start', () => c.start(id)], ['stop', () => c.stop(id)]] as const) {
        const err = await refusal(call());
        t.match(err, { status: 409, code: 'ERR_INVALID_STATE', message: new RegExp(`task ${id} is dead`) }, `${verb} is refused with a typed 409 naming the task`);
      }
      // Its process named by its record, its container (runc delete), or its job holding processes.
      const err = await refusal(c.remove(id));
      t.match(err, { status: 409, code: 'ERR_INVALID_STATE', message: /still runs|refuses its delete|holds processes/ }, 'rm without force is refused while something of it runs');
      t.ok(fs.existsSync(path.join(root, 'tasks', id)), 'and leaves it as it was');

      await c.remove(id, { force: true });
      t.same((await c.listTasks({ all: true })).map((v) => v.id), [], 'rm -f removed it');
      if (b.killsProcess || runtime !== 'host') {
        t.same(taskProcesses(), [], 'its process is gone');
        t.same(taskLeftovers(root, id, runtime), [], 'nothing of it is left');
      } else {
        // No pid and start time to tell its process by: left running (and the job holding it), logged.
        t.same(taskProcesses(), before, 'its process, which nothing identifies, is left');
        t.same(taskLeftovers(root, id, runtime).filter((p) => !p.includes('/taskio/')), [], 'nothing else of it is left');
        for (const p of before) process.kill(p, 'SIGKILL');
        await waitGone(task.pid);
        for (const g of cgroupsOf(root, id)) fs.rmdirSync(g);
      }
    });
  }
}

t.test('runc: kill of an adopted task whose process just ended, before the daemon saw the exit, is the 409 of a task not running', { timeout: 60_000 }, async (t: Test) => {
  const root = daemonRoot(t);
  const c: DaemonClient = await client(root);
  t.teardown(() => c.close());
  const task = await c.createTask({ id: 'gone', runtime: 'runc', args: ['sleep', marker] });
  await killDaemon(root);
  t.equal((await c.getTask('gone')).status, 'running', 'adopted, running');
  process.kill(task.pid, 'SIGKILL');
  await waitGone(task.pid); // seen through /proc, not through the daemon (its poll comes up to 100 ms later)
  const err = await refusal(c.kill('gone', 'KILL'));
  t.match(err, { status: 409, code: 'ERR_INVALID_STATE', message: /not running/ }, 'a typed 409');
});

t.test('host: a dead task shows in ps --filter status=dead, and prune removes it once nothing of it runs (docker\'s prune takes every container not running)', { timeout: 60_000 }, async (t: Test) => {
  const root = daemonRoot(t);
  const c: DaemonClient = await client(root);
  t.teardown(() => c.close());
  const task = await c.createTask({ id: 'husk', runtime: 'host', args: ['sleep', marker] });
  t.teardown(() => { for (const p of [...taskProcesses(), ...keepersOf(root, 'husk')]) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } });
  await killDaemon(root);
  process.kill(task.pid, 'SIGKILL');
  await waitGone(task.pid);
  fs.writeFileSync(path.join(root, 'tasks', 'husk', 'task.json'), '{"version": 1, "id": "husk"');

  const ps = await taskio(t, root, 'ps', '--filter', 'status=dead', '--format', '{{.ID}} {{.Status}}');
  t.equal(ps.code, 0, ps.stderr);
  t.match(ps.stdout, /^husk Dead$/m, 'ps --filter status=dead lists it, Dead');
  const info = await c.info();
  t.same([info.Containers, info.ContainersRunning, info.ContainersStopped], [1, 0, 1], 'info counts it, Stopped (as docker counts a dead container)');
  const report = await c.prune();
  t.same(report.tasksDeleted, ['husk'], 'prune removed it');
  t.same([...taskLeftovers(root, 'husk', 'host'), ...taskProcesses().map((p) => `pid ${p}`)], [], 'nothing of it is left');
});
