import fs from 'node:fs';
import path from 'node:path';
import { processCgroup } from './hierarchy.js';

let enabled = false;
let refused = false;
let inFlight: Promise<boolean> | null = null;
let written = 0;

/**
 * Lets {@link warmCgroupMigration} write, for a process that never moves itself between cgroups
 * (the daemon): the write names this process's cgroup as read just before, so a move of its own
 * made meanwhile could be undone by it. Off by default in the library.
 */
export function enableCgroupWarmup(): void {
  enabled = true;
}

/**
 * Starts the kernel's wait for cgroup migrations now, so that a process about to join a cgroup (a
 * runtime's container, a job's wrapper shell) does not wait for all of it.
 *
 * Every move into a cgroup (a write to a `cgroup.procs`, in any hierarchy) takes one global lock of
 * the kernel's for writing; the first taker after a quiet spell waits for an RCU grace period
 * (5–18 ms measured on this machine kind), takers meanwhile or shortly after wait for none. A
 * runtime puts its container into its cgroups right after it starts, so on an otherwise idle
 * machine that first move paid the whole period. Writing this process's own pid into the cgroup it
 * is in moves nothing (the kernel skips a move to the same place; a pid that does not exist takes
 * no lock) but starts the period beside the runtime's own start: `runc run` of /bin/true, 150 ms
 * apart, 34–38 → 20–24 ms.
 *
 * Never fails; resolves with whether the write was made: not unless {@link enableCgroupWarmup}
 * was called, at most one in flight (it holds a thread-pool thread for the period), and none any
 * more once one was refused (not root, a read-only cgroupfs).
 */
export function warmCgroupMigration(): Promise<boolean> {
  if (!enabled || refused) return Promise.resolve(false);
  inFlight ??= writeOwnPid().finally(() => { inFlight = null; });
  return inFlight;
}

/**
 * Keeps that wait started for a runtime whose start moves processes into cgroups at more than one
 * moment: {@link warmCgroupMigration} again every `everyMs` (one write in flight at most) until the
 * returned function is called, or `forMs` passed (a start that is still going by then, or a call
 * that runs on after the start, stops it by itself). runsc joins its cgroups as it makes the sandbox and again ~100 ms
 * later as it starts the container's process, long after one write's effect ended, so that second
 * move waited for a grace period of its own; while writes keep coming the kernel stays in the state
 * where movers need no new one. `taskio run --rm` of /bin/true on runsc, this daemon's two
 * settings side by side: 189.9 → 180.2 and 188.8 → 174.6 ms (`runsc run` 138–142 ms). Nothing
 * happens where {@link warmCgroupMigration} writes nothing.
 */
export function holdCgroupWarmup(everyMs = 3, forMs = 2000): () => void {
  if (!enabled || refused) return () => undefined;
  void warmCgroupMigration();
  const until = Date.now() + forMs;
  const timer = setInterval(() => {
    if (Date.now() > until) clearInterval(timer);
    else void warmCgroupMigration();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** How many warm-up writes this process made (for tests and diagnostics). */
export function cgroupWarmupWrites(): number {
  return written;
}

async function writeOwnPid(): Promise<boolean> {
  const file = ownProcsFile();
  if (file === null) {
    refused = true;
    return false;
  }
  try {
    const fh = await fs.promises.open(file, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW);
    try {
      await fh.write(String(process.pid));
    } finally {
      await fh.close();
    }
    written++;
    return true;
  } catch {
    refused = true;
    return false;
  }
}

/** This process's `cgroup.procs` now, in the cgroup2 hierarchy, else in a v1 one; null when none is known. */
function ownProcsFile(): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const own = processCgroup('self');
  return own === null ? null : path.join(own.mount, own.path, 'cgroup.procs');
}
