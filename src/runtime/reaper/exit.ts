import { constants } from 'node:os';

/** One process exit, as the monitor saw it (containerd's `runc.Exit`). */
export interface Exit {
  /** When the exit was reaped (or, for a process another owner reaps, reported). */
  timestamp: Date;
  /** The pid that exited. Pids are reused: the pid alone does not name one process, see {@link startTime}. */
  pid: number;
  /** The exit code, or 128 + the signal number when a signal ended the process (SIGKILL → 137). */
  status: number;
  /**
   * When the process started, in clock ticks after boot (`/proc/<pid>/stat` field 22): with the pid,
   * the identity of the process, which tells its exit from that of an older process with the same
   * pid. Absent when it could not be read (the process was gone before anyone looked).
   */
  startTime?: number;
}

/**
 * Turns Node's `(code, signal)` pair of a `child_process` `'exit'` event into a shell-style status,
 * so exits of libuv's children read the same as the ones the reaper decodes from `waitpid`.
 */
export function statusFromCodeSignal(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal === null ? undefined : constants.signals[signal];
  // An exit with neither a code nor a known signal cannot happen on Linux; 255 marks "unknown" like a shell.
  return n === undefined ? 255 : 128 + n;
}
