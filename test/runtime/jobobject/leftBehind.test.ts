import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { JobObject, cgroupLayout, type CgroupLayout } from '../../../src/runtime/jobobject/index.js';
import { until } from '../../helpers/common.js';
import { checkNoJobsLeft, jobWithSleep } from './leftovers.js';

// What a job's create and close leave in the cgroup hierarchies when they cannot do all they were
// asked, on this machine's real cgroups.
const real = cgroupLayout();
const prefix = `tlb-${process.pid}-`;
let seq = 0;
const testTimeout = { timeout: 30_000 };
const roots = [...new Set([real.v2, ...real.v1.values()].filter((r): r is string => r !== undefined))];

const isDir = (p: string): boolean => fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;

/** Removes, in teardown, what a failed case may have made of job `name` (empty directories only). */
function removeLater(t: Test, name: string, layout: CgroupLayout = real): void {
  t.teardown(() => {
    for (const root of new Set([layout.v2, ...layout.v1.values()])) {
      const dir = root === undefined ? undefined : path.join(root, 'taskio', name);
      if (dir !== undefined && isDir(dir)) fs.rmdirSync(dir);
    }
  });
}

/**
 * Keeps taskio's parent group in every hierarchy for the test: a job's close removes the parent once
 * it is empty, and whether another test's job keeps it meanwhile is chance under a parallel run.
 */
async function keepParents(t: Test): Promise<void> {
  const anchor = await JobObject.create({ name: `${prefix}${seq++}` });
  t.teardown(() => anchor.close());
}

t.test('a name that is a cgroup interface file is refused, and nothing is made', testTimeout, async (t) => {
  await keepParents(t); // else a v1 `tasks` is ENOENT below a parent that a failed create removed
  // Before: open('cgroup.procs') found a "job" (a path through a file), whose close threw ENOTDIR;
  // create('tasks') made the cgroup2 directory, failed EEXIST on v1's `tasks` file and left it.
  const names = ['cgroup.procs', ...(real.v1.size > 0 ? ['tasks', 'notify_on_release'] : [])];
  for (const name of names) {
    removeLater(t, name);
    const message = new RegExp(`job object name "${name}" is invalid here: .*/taskio/${name} is a file of the cgroup hierarchy`);
    await t.rejects(JobObject.create({ name }), { code: 'ERR_INVALID_ARG_VALUE', message }, `create ${name}`);
    await t.rejects(JobObject.open(name), { code: 'ERR_INVALID_ARG_VALUE', message }, `open ${name}`);
    for (const root of roots) t.notOk(isDir(path.join(root, 'taskio', name)), `no directory ${name} under ${root}/taskio`);
  }
});

t.test('a create the kernel refuses halfway (cgroup.max.descendants reached in one hierarchy) removes what it made', { ...testTimeout, skip: real.v2 === undefined ? 'no cgroup2 mount' : false }, async (t) => {
  // A cgroup2 subtree that takes one more cgroup, standing for a hierarchy: its `taskio` parent fits,
  // the job's directory under it does not. The job's directory in the real cgroup2 root is made first.
  const full = path.join(real.v2!, `taskio-test-${process.pid}-full`);
  fs.mkdirSync(full);
  t.teardown(() => {
    if (isDir(path.join(full, 'taskio'))) fs.rmdirSync(path.join(full, 'taskio'));
    fs.rmdirSync(full);
  });
  fs.writeFileSync(path.join(full, 'cgroup.max.descendants'), '1');
  const layout: CgroupLayout = { mode: 'hybrid', v2: real.v2, v2Controllers: new Set(), v1: new Map([['cpu', full]]) };
  const name = `${prefix}${seq++}`;
  removeLater(t, name, layout);
  await t.rejects(JobObject.create({ name, layout }), { code: 'EAGAIN' }, 'the kernel refuses the second directory');
  t.notOk(isDir(path.join(real.v2!, 'taskio', name)), 'the cgroup2 directory made before the refusal is removed');
  await t.rejects(JobObject.open(name), { code: 'ENOENT' });
  t.notOk((await JobObject.names()).includes(name), 'and not listed');
});

t.test('close leaves a job whose process left its cgroup2 directory but not its v1 ones (hybrid), whole', { ...testTimeout, skip: real.mode !== 'hybrid' ? 'not a hybrid machine' : false }, async (t) => {
  // Before: pids() (the cgroup2 directory) was empty, so close removed that directory, then failed
  // EBUSY on the v1 ones after a second of retries: a half-removed job that open() no longer found.
  const name = `${prefix}${seq++}`;
  const { job, dirs, sleeper, exited } = await jobWithSleep(t, name);
  // Moved by another program in the cgroup2 hierarchy alone (systemd owns it on a hybrid machine).
  fs.writeFileSync(path.join(real.v2!, 'cgroup.procs'), String(sleeper.pid));
  t.same(await job.pids(), [], 'not listed: the job lists its cgroup2 directory');
  await job.close();
  for (const d of dirs) t.ok(isDir(d), `kept ${d}`);

  sleeper.kill('SIGKILL');
  await exited;
  const again = await JobObject.open(name);
  await again.close();
  for (const d of dirs) t.notOk(isDir(d), `removed ${d} once the process is gone`);
});

t.test('terminate kills what left the job\'s cgroup2 directory but not its v1 ones (hybrid), forks included, and the job then closes', { ...testTimeout, skip: real.mode !== 'hybrid' ? 'not a hybrid machine' : false }, async (t) => {
  // Before: terminate wrote cgroup.kill in the cgroup2 directory alone, so such a process and every
  // child it forked (in the job's v1 cgroups too, charged to its limits) ran on, and close left the job.
  const name = `${prefix}${seq++}`;
  const job = await JobObject.create({ name });
  const dirs = job.cgroupPaths;
  const procsOf = (d: string): number[] => (isDir(d) ? fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number) : []);
  const left = (): number[] => [...new Set(dirs.flatMap(procsOf))];
  const forker = job.spawn('/bin/sh', ['-c', 'echo in; while :; do sleep 1000 & sleep 0.005; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const stayer = job.spawn('sleep', ['1000'], { stdio: 'ignore' });
  const exits = [once(forker, 'exit'), once(stayer, 'exit')];
  t.teardown(async () => {
    // Only when the case failed: what is left in the job, killed, before its directories go.
    forker.kill('SIGKILL');
    stayer.kill('SIGKILL');
    await Promise.all(exits);
    await until(() => {
      for (const pid of left()) process.kill(pid, 'SIGKILL');
      return left().length === 0;
    }, 10_000, 'the killed processes to leave the job');
    for (const d of dirs) if (isDir(d)) fs.rmdirSync(d);
  });
  await once(forker.stdout!, 'data');
  // Moved by another program in the cgroup2 hierarchy alone (systemd owns it on a hybrid machine):
  // its children are born there too, outside the job's cgroup2 directory.
  fs.writeFileSync(path.join(real.v2!, 'cgroup.procs'), String(forker.pid));
  const unified = dirs.find((d) => d.startsWith(`${real.v2!}/`))!;
  const outside = (): number[] => left().filter((pid) => !procsOf(unified).includes(pid));
  await until(() => outside().length >= 6, 10_000, 'children forked outside the cgroup2 directory');

  await job.terminate();
  await job.waitEmpty(10_000);
  t.same(left(), [], 'nothing left in any of the job\'s cgroups: no child forked away');
  t.same(await Promise.all(exits), [[null, 'SIGKILL'], [null, 'SIGKILL']], 'the process outside the cgroup2 directory and the one inside');
  await job.close();
  for (const d of dirs) t.notOk(isDir(d), `removed ${d}`);
});

t.test('a job made before the v1 freezer was joined (hybrid) still opens, and its open fills that in', { ...testTimeout, skip: real.mode !== 'hybrid' || !real.v1.has('freezer') ? 'not a hybrid machine with a v1 freezer' : false }, async (t) => {
  await keepParents(t); // the directories made by hand below need their parent
  const name = `${prefix}${seq++}`;
  const made = await JobObject.create({ name });
  const dirs = made.cgroupPaths;
  const freezer = dirs.find((d) => d.startsWith(`${real.v1.get('freezer')!}/`))!;
  removeLater(t, name);
  await made.close();
  for (const d of dirs.filter((x) => x !== freezer)) fs.mkdirSync(d); // what an earlier taskio made
  const job = await JobObject.open(name, { notifications: true });
  t.ok(isDir(freezer), 'open made the v1 freezer directory');
  const child = job.spawn('/bin/sh', ['-c', 'echo in; exec sleep 120'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = once(child, 'exit');
  await once(child.stdout!, 'data');
  for (const d of dirs) t.match(fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8'), `${child.pid}\n`, `the spawned process entered ${d}`);
  await job.terminate();
  t.same(await exited, [null, 'SIGKILL']);
  await job.waitEmpty(10_000);
  await job.close();
  for (const d of dirs) t.notOk(isDir(d), `removed ${d}`);
});

t.test('nothing of ours is left under the cgroup roots', async (t) => {
  checkNoJobsLeft(t, real, prefix);
});
