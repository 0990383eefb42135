import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import {
  JobObject,
  MsgAllProcessesExited,
  MsgJobMemoryLimit,
  cgroupLayout,
  type CgroupLayout,
  type JobNotification,
} from '../../../src/runtime/jobobject/index.js';
import { CgroupSet } from '../../../src/runtime/jobobject/cgroup.js';
import { JobNotifier } from '../../../src/runtime/jobobject/notifications.js';
import { tmpDir } from '../../helpers/common.js';
import { checkNoJobsLeft } from './leftovers.js';

// Windows posts JOB_OBJECT_MSG_JOB_MEMORY_LIMIT when a process of a job would go past its memory limit;
// on Linux the kernel counts those hits (an OOM in the job's memory cgroup). Before, the cgroup backend
// sent no message for them: a job's only message was MsgAllProcessesExited.
const real = cgroupLayout();
const prefix = `tml-${process.pid}-`;
let seq = 0;
const testTimeout = { timeout: 30_000 };
const limit = 16 * 1024 * 1024;
// A shell that doubles a string until it is past the limit: the OOM killer ends it in a few ms.
const hog = ['/bin/sh', ['-c', 'a=x; while :; do a="$a$a"; done']] as const;

/** What a job's notifications may hold on to in this process: fds (but libuv's one inotify fd, kept for the loop's life), watchers, timers. */
function held(): { fds: string[]; resources: string[] } {
  const fds = fs.readdirSync('/proc/self/fd').map((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return ''; // the directory's own fd, closed by now
    }
  }).filter((l) => l !== '' && l !== 'anon_inode:inotify').sort();
  const resources = process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap' || r === 'Timeout').sort();
  return { fds, resources };
}

t.test('a process that hits the job\'s memory limit: one MsgJobMemoryLimit per hit, before the exit, nothing left at close', { ...testTimeout, skip: real.v1.has('memory') || real.v2Controllers.has('memory') ? false : 'no memory controller' }, async (t) => {
  const before = held();
  const job = await JobObject.create({ name: `${prefix}${seq++}`, notifications: true, terminateOnLastHandleClose: true });
  t.teardown(() => job.close());
  await job.setMemoryLimit(limit);
  for (const hit of [1, 2]) {
    const child = job.spawn(hog[0], hog[1], { stdio: 'ignore' });
    const exited = once(child, 'exit');
    const got: JobNotification[] = [await job.pollNotification(), await job.pollNotification()];
    t.same(got.map((m) => m.constructor), [MsgJobMemoryLimit, MsgAllProcessesExited], `hit ${hit}: the limit, then the exit of the killed process`);
    t.same(await exited, [null, 'SIGKILL'], `hit ${hit}: the OOM killer ended it (Windows would fail the allocation)`);
  }
  // A process that stays under the limit: its exit is the next message, with no third hit before it.
  const child = job.spawn('/bin/true', [], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  t.type(await job.pollNotification(), MsgAllProcessesExited, 'no hit told twice');
  t.same(await exited, [0, null]);

  const dirs = job.cgroupPaths;
  await job.close();
  for (const d of dirs) t.notOk(fs.existsSync(d), `removed ${d}`);
  t.same(held(), before, 'no fd, watcher or timer left');
});

t.test('hits before a handle was opened are not told to it', { ...testTimeout, skip: real.v1.has('memory') || real.v2Controllers.has('memory') ? false : 'no memory controller' }, async (t) => {
  const name = `${prefix}${seq++}`;
  const maker = await JobObject.create({ name, terminateOnLastHandleClose: true });
  t.teardown(() => maker.close());
  await maker.setMemoryLimit(limit);
  const hogged = maker.spawn(hog[0], hog[1], { stdio: 'ignore' });
  t.same(await once(hogged, 'exit'), [null, 'SIGKILL'], 'a hit with no handle watching');
  const job = await JobObject.open(name, { notifications: true });
  t.teardown(() => job.close());
  const child = job.spawn('/bin/true', [], { stdio: 'ignore' });
  const exited = once(child, 'exit');
  t.type(await job.pollNotification(), MsgAllProcessesExited, 'the first message is the next exit');
  t.same(await exited, [0, null]);
});

t.test('cgroup2 memory.events (fake cgroup2 directory of plain files: the memory controller is v1 on this machine): each new `oom` is one message, `max` none', { timeout: 10_000 }, async (t) => {
  const root = tmpDir(t, 'taskio-fake-cgroup2-');
  const layout: CgroupLayout = { mode: 'v2', v2: root, v2Controllers: new Set(['memory']), v1: new Map() };
  const cgroup = new CgroupSet('oom', layout);
  fs.mkdirSync(cgroup.unified!, { recursive: true });
  const file = (name: string, text: string): void => fs.writeFileSync(path.join(cgroup.unified!, name), text);
  const events = (max: number, oom: number): void => file('memory.events', `low 0\nhigh 0\nmax ${max}\noom ${oom}\noom_kill ${oom}\noom_group_kill 0\n`);
  file('cgroup.procs', '');
  file('cgroup.events', 'populated 0\nfrozen 0\n');
  events(7, 2); // hits before the watch began are not told
  const before = held();
  const notifier = new JobNotifier(cgroup);
  t.teardown(() => notifier.close());
  await notifier.start();

  const first = notifier.next();
  events(8, 3);
  t.type(await first, MsgJobMemoryLimit, 'the change of `oom` is seen through inotify');
  events(20, 3);
  events(21, 5);
  t.type(await notifier.next(), MsgJobMemoryLimit, 'two more hits');
  t.type(await notifier.next(), MsgJobMemoryLimit);
  notifier.arm(); // a process went in: the job, empty, is reported so — after whatever came before
  t.type(await notifier.next(), MsgAllProcessesExited, 'the reclaims counted in `max` are no hits');
  notifier.close();
  await t.rejects(notifier.next(), { code: 'ERR_ALREADY_CLOSED' });
  t.same(held(), before, 'no fd, watcher or timer left');
});

t.test('nothing of ours is left under the cgroup roots', async (t) => {
  checkNoJobsLeft(t, real, prefix);
});
