import fs from 'node:fs';
import { isCode, pidfdOpen, pidfdSendSignal, pollReadable } from '../sys/index.js';
import { pollUntil } from '../runtime/stdio/drain.js';

/** Fields of `/proc/<pid>/stat` after the command name (state is [0]), or null when it is gone. */
function statFields(pid: number): string[] | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** A process's start time in clock ticks since boot (field 22), or null when it is gone. */
export function processStartTime(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/**
 * Whether `pid` is still the process that started at `startTime` and has not exited (a zombie has
 * exited: its status waits for a parent that is not this daemon).
 */
export function isSameLiveProcess(pid: number, startTime: string | null): boolean {
  if (pid <= 0) return false;
  const f = statFields(pid);
  if (f === null || f[0] === 'Z' || f[0] === 'X') return false;
  return startTime === null || f[19] === startTime;
}

/**
 * A pidfd on the process `pid` that started at `startTime`, or null when it is gone or `pid` names
 * another process now. Checked after the pidfd is open: had the pid been reused before, the start
 * time differs; a process that dies after the check stays the one the pidfd names.
 */
export function openPidfd(pid: number, startTime: string): number | null {
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch (err) {
    if (isCode(err, 'ESRCH')) return null;
    throw err;
  }
  if (!isSameLiveProcess(pid, startTime)) {
    fs.closeSync(fd);
    return null;
  }
  return fd;
}

/** SIGKILLs the process pidfd `fd` names; one gone already is no error. */
export function killPidfd(fd: number): void {
  try {
    pidfdSendSignal(fd, 9);
  } catch (err) {
    if (!isCode(err, 'ESRCH')) throw err;
  }
}

/**
 * Resolves true once the process pidfd `fd` names has exited — the pidfd turned readable: the
 * process is a zombie or reaped, its fds closed and its memory gone —, false once `ms` passed first.
 * libuv cannot wait on a pidfd, so it is looked at as a draining pipe is ({@link pollUntil}: at once,
 * then on a short backoff); a SIGKILLed process is usually gone by the first or second look.
 */
export async function pidfdExited(fd: number, ms: number): Promise<boolean> {
  const exited = (): boolean => pollReadable([fd])[0]!;
  await pollUntil(exited, AbortSignal.timeout(ms));
  return exited();
}

/**
 * Sends `signal` to the task whose init is `pid` (started at `startTime`): to that process, or with
 * `group` to its process group. Refused with `ESRCH` when `pid` names another process now: pids are
 * reused, and a group id is reserved only while a member is left — so while a process with the
 * leader's pid and another start time runs, the group of that id is someone else's.
 * A `pid` of 0 or less (a record whose create was cut before the task had one) names no task
 * process: refused with `ESRCH` as well, never passed on — kill(0) and kill(-1) signal the
 * daemon's own process group or every process it may signal.
 */
export function signalTask(pid: number, startTime: string | null, signal: number | NodeJS.Signals, group: boolean): void {
  const f = pid > 0 ? statFields(pid) : null;
  const reused = f !== null && startTime !== null && f[19] !== startTime;
  if (pid <= 0 || reused || (!group && f === null)) throw Object.assign(new Error(`kill ESRCH: no process ${pid}`), { code: 'ESRCH', errno: -3, syscall: 'kill' });
  process.kill(group ? -pid : pid, signal);
}

/** A process as `top` shows it. */
export interface ProcessInfo {
  pid: number;
  ppid: number | null;
  command: string;
}

/** `pid`'s parent and command line from `/proc` (the command empty when it is gone). */
export function describeProcess(pid: number): ProcessInfo {
  const f = statFields(pid);
  let command = '';
  try {
    command = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    // gone
  }
  return { pid, ppid: f ? Number(f[1]) : null, command };
}

/** The live processes of the process group led by `leader` (a host task and what it forked). */
export function groupMembers(leader: number): number[] {
  const out: number[] = [];
  if (leader <= 0) return out; // no task process (group 0 is the kernel's threads')
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f !== null && f[0] !== 'Z' && Number(f[2]) === leader) out.push(Number(entry));
  }
  return out;
}
