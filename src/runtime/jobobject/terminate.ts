import fs from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { TaskioError } from '../../errors.js';
import { fileExists, parseKeyed, readOptional, type CgroupSet, type Place } from './cgroup.js';
import { PollIntervalMs } from './notifications.js';

/**
 * Kills every process of a job and returns how many there were. With cgroup2's `cgroup.kill` (Linux ≥ 5.14)
 * the kernel does it in one write, forks in flight included. Otherwise the job is frozen first — so nothing
 * in it can fork while we read the list — each process gets SIGKILL, and the job is thawed, since a frozen
 * task dies only once it runs again (v1). Without a freezer the list is killed until it stays empty.
 * `how: 'freeze'` forces the fallback (tests use it on machines that have `cgroup.kill`).
 */
export async function killAll(cgroup: CgroupSet, how: 'auto' | 'freeze' = 'auto'): Promise<number> {
  const victims = await cgroup.pids();
  const kill = cgroup.unified === undefined ? undefined : path.join(cgroup.unified, 'cgroup.kill');
  if (how === 'auto' && kill !== undefined && (await fileExists(kill))) {
    await fs.writeFile(kill, '1');
    return victims.length;
  }
  const f = cgroup.freezer;
  if (f !== undefined) await setFrozen(f, true);
  let killed = 0;
  try {
    // Without a freezer a process may fork between read and kill: repeat until a read finds nobody new.
    for (let round = 0; round < 100; round++) {
      const pids = await cgroup.pids();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
          killed++;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      }
      if (f !== undefined) break; // frozen: the list was complete
    }
  } finally {
    if (f !== undefined) await setFrozen(f, false);
  }
  return Math.max(killed, victims.length);
}

/**
 * Waits until the job has no process; rejects `ETIMEDOUT` after `timeoutMs`. Where the kernel says so
 * itself it is an event: cgroup2 rewrites `cgroup.events` (`populated 0`) when the last process leaves,
 * and inotify (`fs.watch`) wakes the wait. `cgroup.procs` is polled every {@link PollIntervalMs}, up to
 * the deadline, only without that file (a v1-only layout: v1's one signal, `notify_on_release`, runs the
 * hierarchy-wide `release_agent` program, which is the host's to set, not a library's; inotify on a v1
 * `cgroup.procs` never fires) or when the watch cannot be made or fails. A job whose directory is gone
 * is empty.
 */
export async function waitEmpty(cgroup: CgroupSet, timeoutMs: number): Promise<void> {
  const events = cgroup.unified === undefined ? undefined : path.join(cgroup.unified, 'cgroup.events');
  const hasEvents = events !== undefined && (await fileExists(events));
  const isEmpty = async (): Promise<boolean> => {
    try {
      return hasEvents ? parseKeyed(await fs.readFile(events!, 'utf8')).get('populated') !== 1 : (await cgroup.pids()).length === 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      throw err;
    }
  };
  if (await isEmpty()) return;
  await new Promise<void>((resolve, reject) => {
    let done = false;
    let poll: NodeJS.Timeout | undefined;
    const check = (): void => {
      isEmpty().then((e) => e && finish(), (err: Error) => finish(err));
    };
    const pollFromNowOn = (): void => {
      poll ??= setInterval(check, PollIntervalMs);
    };
    const timer = setTimeout(() => finish(new TaskioError('ETIMEDOUT', `job ${cgroup.name} still has processes after ${timeoutMs} ms`)), timeoutMs);
    const watcher = hasEvents ? watchQuietly(events!, check, () => (pollFromNowOn(), check())) : undefined;
    if (watcher === undefined) pollFromNowOn();
    // Only ever called below this line or later (a timer, an event): what it clears exists by then.
    function finish(err?: Error): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
      err ? reject(err) : resolve();
    }
    check(); // what changed before the watch was made
  });
}

/**
 * `fs.watch` that never throws nor emits an unhandled `'error'`: when the watch cannot be made (inotify
 * limits, a file that is gone) it returns undefined, and when it fails later it is dropped and
 * `onFail` runs, so the caller can fall back to polling.
 */
function watchQuietly(file: string, onChange: () => void, onFail: () => void): FSWatcher | undefined {
  let w: FSWatcher;
  try {
    w = watch(file, onChange);
  } catch {
    return undefined;
  }
  w.on('error', () => {
    w.close();
    onFail();
  });
  return w;
}

/** Freezes or thaws a job (`cgroup.freeze` or v1 `freezer.state`), waiting until a freeze has taken hold. */
export async function setFrozen(p: Place, frozen: boolean): Promise<void> {
  const file = path.join(p.dir, p.version === 2 ? 'cgroup.freeze' : 'freezer.state');
  await fs.writeFile(file, p.version === 2 ? (frozen ? '1' : '0') : frozen ? 'FROZEN' : 'THAWED');
  if (!frozen) return;
  // Freezing is asynchronous; tasks may fork until it completes, so wait for the kernel to confirm.
  for (let i = 0; i < 500; i++) {
    const done =
      p.version === 2
        ? parseKeyed((await readOptional(path.join(p.dir, 'cgroup.events'))) ?? '').get('frozen') === 1
        : ((await readOptional(file)) ?? '').trim() === 'FROZEN';
    if (done) return;
    await new Promise((r) => setTimeout(r, 2));
  }
}
