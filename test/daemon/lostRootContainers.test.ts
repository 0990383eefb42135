/**
 * A daemon's state root removed by hand (`rm -rf`, no `taskio rm`) while its runc/runsc tasks'
 * cgroups (`/taskio-containers/<prefix><id>`, in every hierarchy) remain, on real runtimes: the
 * next daemon removes the empty ones at start; a create of an id whose cgroup still holds the lost
 * task's processes is refused naming them — runc would put the new task beside them, runsc fail
 * on the sandbox's socket — and once they are stopped the create removes the empty cgroup, so the
 * runtime makes (and runsc owns, so removes at `rm`) a new one.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { hierarchyMounts } from '../../src/runtime/jobobject/hierarchy.js';
import { jobPrefix } from '../../src/daemon/runtimes.js';
import { isGone } from '../fixtures/oci.js';
import { client, daemonPid, daemonRoot, eventually, killKeepersLater, removeByHand, taskDirs, waitGone } from './helpers.js';

/** The directories of runc/runsc task cgroup `name` in every hierarchy. */
function cgroupDirsOf(name: string): string[] {
  return hierarchyMounts().map((m) => path.join(m, 'taskio-containers', name)).filter((d) => fs.existsSync(d));
}

/** Every pid in any of `dirs`. */
function pidsIn(dirs: readonly string[]): number[] {
  const pids = new Set<number>();
  for (const d of dirs) {
    try {
      for (const p of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) pids.add(Number(p));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return [...pids];
}

/** Kills every process in `dirs` (a lost task's: no runtime state names it any more) and waits until they are empty. */
async function killAllIn(dirs: readonly string[]): Promise<void> {
  for (const pid of pidsIn(dirs)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  await eventually(() => {
    for (const pid of pidsIn(dirs)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    return pidsIn(dirs).length === 0;
  }, `${dirs[0]} to be empty`);
}

for (const runtime of ['runc', 'runsc'] as const) {
  t.test(`a root removed by hand: ${runtime} tasks' empty cgroups removed at start, an id whose cgroup holds processes refused naming them`, { timeout: 120_000 }, async (t) => {
    const root = daemonRoot(t);
    const first = await client(root);
    const args = ['sleep', '1000'];
    await first.createTask({ id: 'gone', runtime, args });
    await first.createTask({ id: 'live', runtime, args });
    first.close();
    const gone = `${jobPrefix(root)}gone`, live = `${jobPrefix(root)}live`;
    const goneDirs = cgroupDirsOf(gone), liveDirs = cgroupDirsOf(live);
    t.teardown(async () => {
      await killAllIn([...goneDirs, ...liveDirs]);
      for (const d of [...goneDirs, ...liveDirs]) if (fs.existsSync(d)) fs.rmdirSync(d);
    });
    t.ok(goneDirs.length > 0 && liveDirs.length > 0, `each ${runtime} task runs in a cgroup of its own`);

    // The daemon dies, one task is killed, and the root goes by hand: the cgroups stay.
    const daemon = daemonPid(root);
    process.kill(daemon, 'SIGKILL');
    await waitGone(daemon);
    await killAllIn(goneDirs);
    // The tasks' output keepers outlive the daemon and the root: taken now, killed at the end.
    t.teardown(killKeepersLater(root));
    await removeByHand(root);
    fs.mkdirSync(root, { mode: 0o700 });
    const livePids = pidsIn(liveDirs).sort((a, b) => a - b);
    const before = liveDirs.map((d) => fs.statSync(d).ino);

    const c = await client(root);
    t.teardown(() => c.close());
    // The sweep runs before the daemon listens: by its first answer it is done.
    t.same(await c.listTasks({ all: true }), [], 'the new daemon has no task');
    t.same(cgroupDirsOf(gone), [], 'the empty cgroup is removed at start, in every hierarchy');
    t.same(liveDirs.map((d) => fs.statSync(d).ino), before, 'the cgroup that holds processes is left as it was');
    const log = fs.readFileSync(path.join(root, 'daemon.log'), 'utf8');
    t.match(log, new RegExp(`"cgroups":\\["${gone}"\\],"msg":"removed the empty runsc/runc cgroups of this root that no task names"`), 'the daemon log names the cgroup it removed');
    t.match(log, new RegExp(`"cgroup":"${live}".*left as it is`), 'and the one it left');

    const err = await c.createTask({ id: 'live', runtime, args }).then(() => null, (e: unknown) => e);
    t.match(err, {
      code: 'ERR_ALREADY_EXISTS',
      message: new RegExp(`^task "live": cgroup /taskio-containers/${live} already exists and holds processes ${livePids.join(', ')}, `),
    }, 'a create of the id is refused, naming the cgroup and its pids');
    t.same(taskDirs(root), [], 'and makes nothing');
    t.same(liveDirs.map((d) => fs.statSync(d).ino), before, 'the cgroup is the same one');
    t.same(pidsIn(liveDirs).sort((a, b) => a - b), livePids, 'with the same processes in it');
    t.same(livePids.filter(isGone), [], 'which run on');

    // Once they are stopped, the next create removes the empty cgroup and runs the task in a new one.
    await killAllIn(liveDirs);
    const again = await c.createTask({ id: 'live', runtime, args });
    t.equal(again.status, 'running', 'the id is taken');
    const newDirs = cgroupDirsOf(live);
    t.ok(newDirs.length > 0, 'in its cgroup');
    for (const d of newDirs) t.not(fs.statSync(d).ino, before[liveDirs.indexOf(d)], `${d} is a new group`);
    t.ok(pidsIn(newDirs).includes(again.pid), 'with the new task\'s process');
    t.match(fs.readFileSync(path.join(root, 'daemon.log'), 'utf8'), new RegExp(`"id":"live","cgroup":"/taskio-containers/${live}".*"msg":"removed an empty cgroup left by an earlier supervisor`), 'a warning names the cgroup removed');
    await c.remove('live', { force: true });
    t.same(cgroupDirsOf(live), [], 'rm removes the task\'s cgroup (runsc removes only one it made)');
  });
}
