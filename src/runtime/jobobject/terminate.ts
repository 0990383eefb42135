import fs from 'node:fs/promises';
import path from 'node:path';
import { TaskioError } from '../../errors.js';
import { fileExists, parseKeyed, readOptional, watchQuietly, type CgroupSet, type Place } from './cgroup.js';
import { PollIntervalMs } from './notifications.js';

/**
 * Kills every process of a job — in any of its cgroups — and returns how many there were. With cgroup2's
 * `cgroup.kill` (Linux ≥ 5.14) the kernel kills the cgroup2 directory in one write, forks in flight
 * included; where that directory is the whole job (a unified machine) that is all. On a hybrid machine a
 * process may have left it (systemd owns that hierarchy and moves processes) and still be in the job's
 * v1 cgroups, charged to its limits: those, and every process where there is no `cgroup.kill`, are
 * frozen, listed and killed by {@link killFrozen}. `how: 'freeze'` skips `cgroup.kill` (tests use it on
 * machines that have it).
 */
export async function killAll(cgroup: CgroupSet, how: 'auto' | 'freeze' = 'auto'): Promise<number> {
  const kill = cgroup.unified === undefined ? undefined : path.join(cgroup.unified, 'cgroup.kill');
  const killed = new Set<number>();
  if (how === 'auto' && kill !== undefined && (await fileExists(kill))) {
    for (const pid of await cgroup.pids()) killed.add(pid);
    await fs.writeFile(kill, '1');
    if (cgroup.dirs.length === 1) return killed.size;
  }
  await killFrozen(cgroup, killed);
  return killed.size;
}

/**
 * Kills, with SIGKILL, every process listed in any of the job's directories and not in `killed`, adding
 * each to it. Each round freezes every freezer the job is in (a frozen process cannot fork while the
 * list is read), kills what the list holds and thaws, since a task frozen by v1 dies only once it runs
 * again. A round that killed only frozen processes has seen them all; otherwise one it killed may have
 * forked first (no freezer, or a process outside the job's freezers), and rounds go on until one finds
 * nobody new. A job where nobody new is listed to begin with — after `cgroup.kill`, the usual case — is
 * not frozen at all: a freeze would wait for the killed processes to finish exiting.
 */
async function killFrozen(cgroup: CgroupSet, killed: Set<number>): Promise<void> {
  if ([...(await cgroup.procsByDir()).values()].flat().every((pid) => killed.has(pid))) return;
  for (let round = 0; round < 100; round++) {
    const frozen: Place[] = [];
    let fresh = 0;
    let allHeld = true;
    try {
      for (const f of cgroup.freezers) if (await setFrozen(f, true)) frozen.push(f);
      const byDir = await cgroup.procsByDir();
      const held = new Set(frozen.flatMap((f) => byDir.get(f.dir) ?? []));
      for (const pid of [...byDir.values()].flat()) {
        if (killed.has(pid)) continue; // dying: it can fork no more
        killed.add(pid);
        fresh++;
        if (!held.has(pid)) allHeld = false;
        try {
          process.kill(pid, 'SIGKILL');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      }
    } finally {
      for (const f of cgroup.freezers) await setFrozen(f, false);
    }
    if (fresh === 0 || allHeld) return;
  }
}

/**
 * Waits until the job has no process in any of its cgroups; rejects `ETIMEDOUT` after `timeoutMs`. Where
 * the kernel says so itself it is an event: cgroup2 rewrites `cgroup.events` (`populated 0`) when the
 * last process leaves, and inotify (`fs.watch`) wakes the wait. The `cgroup.procs` files are polled every
 * {@link PollIntervalMs}, up to the deadline, only where no event tells: without that file (a v1-only
 * layout: v1's one signal, `notify_on_release`, runs the hierarchy-wide `release_agent` program, which is
 * the host's to set, not a library's; inotify on a v1 `cgroup.procs` never fires), when the watch cannot
 * be made or fails, or once the cgroup2 directory is empty but a v1 one is not (a process that left the
 * cgroup2 one on a hybrid machine). A job whose directory is gone is empty.
 */
export async function waitEmpty(cgroup: CgroupSet, timeoutMs: number): Promise<void> {
  const events = cgroup.eventsFile;
  const hasEvents = events !== undefined && (await fileExists(events));
  // 'watch': the cgroup2 directory is populated, and its cgroup.events will tell when it is not.
  const state = async (): Promise<'empty' | 'watch' | 'poll'> => {
    try {
      if (hasEvents && parseKeyed(await fs.readFile(events!, 'utf8')).get('populated') === 1) return 'watch';
      return (await cgroup.anyProcess()) ? 'poll' : 'empty';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'empty';
      throw err;
    }
  };
  if ((await state()) === 'empty') return;
  await new Promise<void>((resolve, reject) => {
    let done = false;
    let poll: NodeJS.Timeout | undefined;
    const check = (): void => {
      state().then((s) => (s === 'empty' ? finish() : s === 'poll' ? pollFromNowOn() : undefined), (err: Error) => finish(err));
    };
    const pollFromNowOn = (): void => {
      if (!done) poll ??= setInterval(check, PollIntervalMs);
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
 * Freezes or thaws a job's cgroup (`cgroup.freeze` or v1 `freezer.state`). A freeze resolves whether it
 * took hold: it is asynchronous, and tasks may fork until it completes, so it waits (about a second at
 * most) for the kernel to confirm. A cgroup that is gone is neither frozen nor an error.
 */
export async function setFrozen(p: Place, frozen: boolean): Promise<boolean> {
  const file = path.join(p.dir, p.version === 2 ? 'cgroup.freeze' : 'freezer.state');
  try {
    await fs.writeFile(file, p.version === 2 ? (frozen ? '1' : '0') : frozen ? 'FROZEN' : 'THAWED');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (!frozen) return false;
  for (let i = 0; i < 500; i++) {
    const done =
      p.version === 2
        ? parseKeyed((await readOptional(path.join(p.dir, 'cgroup.events'))) ?? '').get('frozen') === 1
        : ((await readOptional(file)) ?? '').trim() === 'FROZEN';
    if (done) return true;
    await new Promise((r) => setTimeout(r, 2));
  }
  return false;
}
