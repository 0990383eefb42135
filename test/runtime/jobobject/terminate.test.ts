import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { CgroupSet } from '../../../src/runtime/jobobject/cgroup.js';
import { waitEmpty } from '../../../src/runtime/jobobject/terminate.js';
import { JobObject, type CgroupLayout } from '../../../src/runtime/jobobject/index.js';
import { tmpDir } from '../../helpers/common.js';

/**
 * A job whose cgroup2 directory is a plain directory (fake: a real cgroup2 directory always has
 * `cgroup.events`, so fs.watch on it cannot be made to fail): `cgroup.procs` is an ordinary file the
 * test writes, and `cgroup.events` is missing, so fs.watch on it fails with ENOENT.
 */
function plainDirJob(t: Parameters<typeof tmpDir>[0]): { cgroup: CgroupSet; procs: string } {
  const root = tmpDir(t, 'taskio-fake-cgroup2-');
  const layout: CgroupLayout = { mode: 'v2', v2: root, v2Controllers: new Set(), v1: new Map() };
  const cgroup = new CgroupSet('watch-fails', layout);
  fs.mkdirSync(cgroup.unified!, { recursive: true });
  const procs = path.join(cgroup.unified!, 'cgroup.procs');
  fs.writeFileSync(procs, '4242\n');
  return { cgroup, procs };
}

t.test('waitEmpty with a failing fs.watch (fake cgroup2 directory of plain files): polls, times out with a code, leaves no timer', { timeout: 60_000 }, async (t) => {
  // A wait that settled must leave no timer behind: one that fires later would run in nobody's hands.
  const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const before = timers();

  const timedOut = plainDirJob(t);
  await t.rejects(waitEmpty(timedOut.cgroup, 300), { code: 'ETIMEDOUT', message: /watch-fails still has processes after 300 ms/ });
  t.equal(timers(), before, 'no timer left after the timeout');

  const emptied = plainDirJob(t);
  const waiting = waitEmpty(emptied.cgroup, 5_000);
  fs.writeFileSync(emptied.procs, '');
  await waiting;
  t.pass('the poll saw the job empty without the watch');
  t.equal(timers(), before, 'no timer left after it resolved');
});

t.test('a job object with no cgroup hierarchy mounted: ERR_NOT_SUPPORTED, nothing made', { timeout: 60_000 }, async (t) => {
  const none: CgroupLayout = { mode: 'v1', v2Controllers: new Set(), v1: new Map() };
  await t.rejects(JobObject.create({ name: `nomount-${process.pid}`, layout: none }), { code: 'ERR_NOT_SUPPORTED', message: /no cgroup hierarchy/ });
  await t.rejects(JobObject.open(`nomount-${process.pid}`, { layout: none }), { code: 'ERR_NOT_SUPPORTED' });
});
