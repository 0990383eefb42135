import fs from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { TaskioError } from '../../errors.js';
import { fileExists, parseKeyed, readOptional, type CgroupSet, type Place } from './cgroup.js';

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
 * Waits until the job has no process, watching `cgroup.events` when there is one and polling `cgroup.procs`
 * as well (the fallback, and a safety net); rejects `ETIMEDOUT` after `timeoutMs`.
 */
export async function waitEmpty(cgroup: CgroupSet, timeoutMs: number): Promise<void> {
  const events = cgroup.unified === undefined ? undefined : path.join(cgroup.unified, 'cgroup.events');
  const isEmpty = async (): Promise<boolean> => {
    const text = events === undefined ? undefined : await readOptional(events);
    return text !== undefined ? parseKeyed(text).get('populated') !== 1 : (await cgroup.pids()).length === 0;
  };
  if (await isEmpty()) return;
  await new Promise<void>((resolve, reject) => {
    let done = false;
    const check = (): void => {
      isEmpty().then((e) => e && finish(), () => finish());
    };
    const timer = setTimeout(() => finish(new TaskioError('ETIMEDOUT', `job ${cgroup.name} still has processes after ${timeoutMs} ms`)), timeoutMs);
    const poll = setInterval(check, 100);
    const watcher = events === undefined ? undefined : watchQuietly(events, check);
    // Only ever called below this line or later (a timer, an event): what it clears exists by then.
    function finish(err?: Error): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(poll);
      watcher?.close();
      err ? reject(err) : resolve();
    }
    check();
  });
}

/**
 * `fs.watch` that never throws nor emits an unhandled `'error'`: when the watch cannot be made (inotify
 * limits, a file that is gone) or fails later, it is dropped and the caller's poll notices the change.
 */
function watchQuietly(file: string, onChange: () => void): FSWatcher | undefined {
  let w: FSWatcher;
  try {
    w = watch(file, onChange);
  } catch {
    return undefined;
  }
  w.on('error', () => w.close());
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
