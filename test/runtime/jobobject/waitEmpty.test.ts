import t, { type Test } from 'tap';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import { JobObject, cgroupLayout, type CgroupLayout } from '../../../src/runtime/jobobject/index.js';
import { CgroupSet } from '../../../src/runtime/jobobject/cgroup.js';
import { waitEmpty } from '../../../src/runtime/jobobject/terminate.js';
import { until } from '../../helpers/common.js';
import { checkNoJobsLeft } from './leftovers.js';

// Waiting for a job to empty, on real cgroups: through the kernel's cgroup.events where there is
// one (cgroup2, here the hybrid machine's), by polling only where there is none.
const real = cgroupLayout();
const prefix = `twe-${process.pid}-`;
let seq = 0;
const testTimeout = { timeout: 30_000 };

const resources = (kind: string): number => process.getActiveResourcesInfo().filter((r) => r === kind).length;

/** A job (removed in teardown, killing what is left) with a `sleep` moved into it, already running. */
async function jobWithSleeper(t: Test, layout?: CgroupLayout): Promise<{ job: JobObject; sleeper: ChildProcess }> {
  const job = await JobObject.create({ name: `${prefix}${seq++}`, terminateOnLastHandleClose: true, layout });
  t.teardown(() => job.close());
  const sleeper = spawn('sleep', ['120'], { stdio: 'ignore' });
  t.teardown(() => sleeper.kill('SIGKILL'));
  await once(sleeper, 'spawn');
  await job.assign(sleeper.pid!);
  return { job, sleeper };
}

t.test('waiting on a cgroup2 job is the cgroup.events watch alone: no poll timer beside the deadline', { ...testTimeout, skip: real.v2 === undefined ? 'no cgroup2 mount' : false }, async (t) => {
  // Before: a 100 ms poll of cgroup.procs ran beside the watch all along.
  const { job, sleeper } = await jobWithSleeper(t);
  const timers = resources('Timeout'), watches = resources('FSEventWrap');
  const waiting = waitEmpty(new CgroupSet(job.name), 20_000);
  let during = -1;
  await until(() => {
    if (resources('FSEventWrap') === watches) return false;
    during = resources('Timeout');
    return true;
  }, 10_000, 'the wait to watch cgroup.events');
  t.equal(during, timers + 1, 'one timer while it waits: its deadline');
  const exited = once(sleeper, 'exit');
  sleeper.kill('SIGKILL');
  await waiting;
  await exited;
  t.same(await job.pids(), [], 'empty when the wait ended');
  t.equal(resources('Timeout'), timers, 'no timer left');
  t.equal(resources('FSEventWrap'), watches, 'no watch left');
});

t.test('JobObject.waitEmpty: after terminate, empty; ETIMEDOUT naming the job while a process stays; bad timeouts refused', testTimeout, async (t) => {
  const { job, sleeper } = await jobWithSleeper(t);
  const timers = resources('Timeout');
  await t.rejects(job.waitEmpty(200), { code: 'ETIMEDOUT', message: new RegExp(`job ${job.name} still has processes after 200 ms`) });
  t.equal(resources('Timeout'), timers, 'no timer left after the timeout');
  for (const bad of [-1, 1.5, 2 ** 31, Number.NaN]) {
    await t.rejects(job.waitEmpty(bad), { code: 'ERR_OUT_OF_RANGE', message: new RegExp(`timeout of \`${String(bad)}\``) }, String(bad));
  }
  const exited = once(sleeper, 'exit');
  await job.terminate();
  await job.waitEmpty(10_000);
  t.same(await job.pids(), [], 'nothing listed once it resolved');
  t.same(await exited, [null, 'SIGKILL']);
  await t.resolves(job.waitEmpty(0), 'an empty job resolves at once, even with no time');
  await job.close();
  await t.rejects(job.waitEmpty(), { code: 'ERR_ALREADY_CLOSED' });
});

t.test('JobObject.waitEmpty counts a spawned child still on its way in', testTimeout, async (t) => {
  // spawn() returns before the wrapper shell joined the cgroup: an empty cgroup then is not an empty job.
  const job = await JobObject.create({ name: `${prefix}${seq++}`, terminateOnLastHandleClose: true });
  t.teardown(() => job.close());
  const child = job.spawn('/bin/sh', ['-c', 'exec sleep 120'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  await t.rejects(job.waitEmpty(300), { code: 'ETIMEDOUT' }, 'not empty: the child is in it, or about to be');
  const exited = once(child, 'exit');
  await job.terminate();
  await job.waitEmpty(10_000);
  t.same(await exited, [null, 'SIGKILL']);
});

t.test('v1 hierarchies alone: waitEmpty polls cgroup.procs and resolves once the job is empty', { ...testTimeout, skip: real.v1.size === 0 ? 'no v1 hierarchy' : false }, async (t) => {
  const v1only: CgroupLayout = { mode: 'v1', v2: undefined, v2Controllers: new Set(), v1: real.v1 };
  const { job, sleeper } = await jobWithSleeper(t, v1only);
  const exited = once(sleeper, 'exit');
  await job.terminate(); // freezer, SIGKILL, thaw
  await job.waitEmpty(10_000);
  t.same(await job.pids(), []);
  t.same(await exited, [null, 'SIGKILL']);
});

t.test('nothing of ours is left under the cgroup roots', async (t) => {
  checkNoJobsLeft(t, real, prefix);
});
