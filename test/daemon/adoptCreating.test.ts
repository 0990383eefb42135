/**
 * A create cut by the daemon's SIGKILL: the record says "creating" (pid 0), while what the runtime
 * made may run. Made deterministically: a task is created and runs, the daemon is SIGKILLed, and
 * the record is rewritten as `#launch` writes it before its runtime call.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { CreateTaskRequest, DaemonClient } from '../../src/daemon/index.js';
import { readJson, writeJsonAtomic } from '../../src/daemon/atomicJson.js';
import type { TaskRecord } from '../../src/daemon/records.js';
import { jobPrefix } from '../../src/daemon/runtimes.js';
import { isGone } from '../fixtures/oci.js';
import { client, daemonPid, daemonRoot, eventually, runtimeIdOf, waitGone } from './helpers.js';

/** The cgroup directories of `parent/name` in each hierarchy (v1's controllers, or cgroup2's root). */
function cgroupDirs(parent: string, name: string): string[] {
  const mounts = ['/sys/fs/cgroup', ...fs.readdirSync('/sys/fs/cgroup').map((h) => path.join('/sys/fs/cgroup', h))];
  return mounts.map((m) => path.join(m, parent, name)).filter((d) => fs.existsSync(d));
}

/** What task `id` of `root` holds outside its directory: its process, and its job's or container's cgroups. */
interface Held { id: string; runtime: string; pid: number; cgroups: () => string[] }

/**
 * Creates each task and leaves it running, SIGKILLs the daemon, and rewrites each record as a
 * create cut before its runtime call returned leaves it.
 */
async function cutCreates(t: Test, root: string, c: DaemonClient, reqs: CreateTaskRequest[]): Promise<Held[]> {
  const held: Held[] = [];
  for (const req of reqs) {
    const view = await c.createTask(req);
    const id = view.id;
    const record = readJson<TaskRecord>(path.join(root, 'tasks', id, 'task.json'))!;
    const cgroups = record.runtime === 'host' ? () => cgroupDirs('taskio', record.job!) : () => cgroupDirs('taskio-containers', `${jobPrefix(root)}${id}`);
    t.ok(view.pid > 0 && cgroups().length > 0, `${id}: runs, in cgroups of its own`);
    held.push({ id, runtime: record.runtime, pid: view.pid, cgroups });
  }
  const first = daemonPid(root);
  process.kill(first, 'SIGKILL');
  await waitGone(first);
  for (const { id } of held) {
    const file = path.join(root, 'tasks', id, 'task.json');
    writeJsonAtomic(file, { ...readJson<TaskRecord>(file)!, pid: 0, pidStartTime: null, started: null, status: 'creating' });
  }
  return held;
}

/** Nothing of `h` is left: its process, cgroups, runtime state. */
function checkGone(t: Test, root: string, h: Held): void {
  t.ok(isGone(h.pid), `${h.id}: the process its cut create made is killed`);
  t.same(h.cgroups(), [], `${h.id}: its cgroups are removed`);
  if (h.runtime !== 'host') {
    const list = spawnSync(h.runtime, ['--root', path.join(root, 'runtime', h.runtime), 'list', '--format', 'json'], { encoding: 'utf8' });
    t.notOk((JSON.parse(list.stdout || 'null') ?? []).some((x: { id: string }) => x.id === runtimeIdOf(root, h.runtime, h.id)), `${h.id}: the runtime has no container of it`);
  }
}

const sleeper = ['sh', '-c', 'while :; do sleep 1; done'];

t.test('a create cut by the daemon\'s SIGKILL (host, runc): the next daemon removes what it made, and survives rm', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  const c = await client(root);
  t.teardown(() => c.close());
  const held = await cutCreates(t, root, c, [{ id: 'cut-host', runtime: 'host', args: sleeper }, { id: 'cut-runc', runtime: 'runc', args: sleeper }]);

  const tasks = new Map((await c.listTasks({ all: true })).map((x) => [x.id, x]));
  const daemon = daemonPid(root);
  for (const h of held) {
    const v = tasks.get(h.id)!;
    t.equal(v.status, 'exited', `${h.id}: exited`);
    t.equal(v.exit?.exitCode, null, `${h.id}: no made-up code`);
    t.match(v.exit?.reason, /stopped while the task was being created/, `${h.id}: the reason`);
    // Adoption comes before the daemon listens: by its first answer, the cleanup is done.
    checkGone(t, root, h);
  }
  for (const h of held) {
    t.match(await c.getTask(h.id), { status: 'exited' }, `${h.id}: inspect`);
    await c.remove(h.id);
    t.notOk(fs.existsSync(path.join(root, 'tasks', h.id)), `${h.id}: removed`);
  }
  t.equal(daemonPid(root), daemon, 'the daemon survived the removals');
  t.same(await c.listTasks({ all: true }), [], 'and serves');
});

t.test('restart always and --rm on a cut create: the daemon starts, removes the --rm ones, leaves the always ones exited', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  const c = await client(root);
  t.teardown(() => c.close());
  const held = await cutCreates(t, root, c, (['host', 'runc'] as const).flatMap((rt) => [
    { id: `always-${rt}`, runtime: rt, args: sleeper, restartPolicy: { name: 'always' as const } },
    { id: `rm-${rt}`, runtime: rt, args: sleeper, autoRemove: true },
  ]));

  await c.listTasks({ all: true });
  const daemon = daemonPid(root);
  await eventually(async () => (await c.listTasks({ all: true })).every((x) => !x.id.startsWith('rm-')), 'the --rm tasks to be removed');
  for (const h of held) checkGone(t, root, h);
  for (const rt of ['host', 'runc']) {
    const id = `always-${rt}`;
    // Not started by its policy (it never ran): it waits for a client's start, as a created task does.
    t.match(await c.getTask(id), { status: 'exited', restartCount: 0 }, `${id}: exited, not restarted`);
    const run = await c.start(id);
    t.equal(run.status, 'running', `${id}: a client's start runs it`);
    await c.remove(id, { force: true });
  }
  t.equal(daemonPid(root), daemon, 'the daemon that adopted them still runs');
  t.same(await c.listTasks({ all: true }), [], 'and serves');
});
