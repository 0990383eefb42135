import fs from 'node:fs';
import { procStat, type ProcStat } from '../reaper/children.js';

/** A process the host runtime started (the init or an exec): the leader of a session of its own. */
export interface SessionLeader {
  pid: number;
  /** Its start time (`/proc/<pid>/stat`), read right after spawn; undefined if it could not be read. */
  startTime: number | undefined;
}

/**
 * The live processes of a host task that has no job object, from `/proc`: every process in the
 * session of one of the task's leaders (each was spawned with `setsid`, and a session is inherited
 * across fork and exec, so background jobs and double-forked daemons stay in it), and every
 * descendant of those that is still a child of one of them (one that called `setsid` itself).
 *
 * A session id is a pid, and Linux does not hand a pid out again while any process still has it as
 * its session (or group) id; so while a member is left the session is the task's, and once a
 * different process holds the leader's pid (another start time) no member of the task's session
 * can be left and the session of that pid is someone else's.
 *
 * What this cannot find: a process that left the session (`setsid`) and whose parent exited before
 * the call — nothing on Linux ties it to the task any more without a cgroup. That is why the host
 * runtime uses a job object whenever it can make one.
 */
export function sessionProcesses(leaders: readonly SessionLeader[]): number[] {
  const all = new Map<number, ProcStat>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat !== null) all.set(Number(entry), stat);
  }
  const sessions = new Set<number>();
  for (const l of leaders) {
    const now = all.get(l.pid);
    if (now !== undefined && l.startTime !== undefined && now.startTime !== l.startTime) continue; // the pid is reused
    sessions.add(l.pid);
  }
  const found = new Set<number>();
  for (const [pid, s] of all) if (s.state !== 'Z' && sessions.has(s.session)) found.add(pid);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, s] of all) {
      if (s.state !== 'Z' && !found.has(pid) && found.has(s.ppid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  found.delete(process.pid);
  return [...found];
}

/**
 * Sends `signal` to every process {@link sessionProcesses} finds and returns how many got it. With
 * SIGKILL it repeats until none is left, since a process may fork while the list is read (bounded:
 * a fork bomb that outruns it for `limitMs` is left to the caller's next attempt).
 */
export async function signalSessions(leaders: readonly SessionLeader[], signal: number, limitMs = 5000): Promise<number> {
  const deadline = Date.now() + limitMs;
  let sent = 0;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    const pids = sessionProcesses(leaders);
    sent += signalEach(pids, signal);
    if (signal !== 9 || pids.length === 0 || Date.now() > deadline) return sent;
    // Killed processes take a moment to become zombies (which no longer count): look again shortly.
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Sends `signal` to each of `pids` that still exists; returns how many got it. */
export function signalEach(pids: readonly number[], signal: number): number {
  let sent = 0;
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
      sent++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  return sent;
}
