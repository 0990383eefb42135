/**
 * `rm -f` of a runc/runsc task whose runtime delete fails (its runtime state unreadable: here a
 * state file cut short; before ids were prefix-free, runsc's "ambiguous" id) removes the task and
 * its cgroup once that holds no process, in every hierarchy, as the removal of a dead task does:
 * the runtime removes it only at a delete that succeeds, and docker and containerd's shim leave no
 * cgroup of a container they removed. Real daemon, runc and runsc.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { containerCgroup } from '../../src/daemon/containerCgroup.js';
import { jobPrefix } from '../../src/daemon/runtimes.js';
import { cgroupDirs } from '../../src/runtime/oci/containerCgroups.js';
import { client, daemonRoot, runtimeIdOf } from './helpers.js';

/** The state file the runtime reads for container `runtimeId` under `root`: runc's `state.json`, runsc's `<sandbox>_sandbox:<id>.state`. */
function stateFileOf(root: string, runtime: 'runc' | 'runsc', runtimeId: string): string {
  const dir = path.join(root, 'runtime', runtime);
  if (runtime === 'runc') return path.join(dir, runtimeId, 'state.json');
  return path.join(dir, fs.readdirSync(dir).find((e) => e.endsWith(`_sandbox:${runtimeId}.state`))!);
}

for (const runtime of ['runc', 'runsc'] as const) {
  t.test(`${runtime}: rm -f of an exited task whose runtime delete fails removes its empty cgroup too`, { timeout: 60_000 }, async (t) => {
    const root = daemonRoot(t);
    const c = await client(root);
    t.teardown(() => c.close());
    const exited = await c.createTask({ id: 'cut', runtime, args: ['true'] }).then(() => c.wait('cut'));
    t.equal(exited.exitCode, 0, 'the task ran and exited');
    const cgroup = containerCgroup(`${jobPrefix(root)}cut`);
    const dirsOf = (): string[] => cgroupDirs(cgroup).filter((d) => d.endsWith(cgroup));
    t.not(dirsOf().length, 0, 'its cgroup is there until its delete');
    fs.writeFileSync(stateFileOf(root, runtime, runtimeIdOf(root, runtime, 'cut')), '{');
    await c.remove('cut', { force: true });
    t.same((await c.listTasks({ all: true })).map((v) => v.id), [], 'removed (force)');
    const log = fs.readFileSync(path.join(root, 'daemon.log'), 'utf8');
    t.match(log, /"id":"cut".*runtime delete failed; removed anyway \(force\)/, 'its runtime delete failed');
    t.same(dirsOf(), [], 'no cgroup of it left, in any hierarchy');
    t.match(log, /"id":"cut".*removed the task's cgroup its runtime delete left/, 'the daemon log says so');
  });
}
