import { libc, lastErrno } from './libc.js';
import { sysError } from './errno.js';
import { validatePid } from '../ids.js';

const PR_SET_CHILD_SUBREAPER = 36, PR_GET_CHILD_SUBREAPER = 37;
const P_ALL = 0, P_PID = 1;
const WNOHANG = 1, WEXITED = 4, WNOWAIT = 0x01000000;
const CLD_EXITED = 1;
const SYS_pidfd_open = 434;

/** Makes this process a child subreaper: orphaned descendants are re-parented to it. */
export function setChildSubreaper(on = true): void {
  if (libc.prctl(PR_SET_CHILD_SUBREAPER, 'ulong', on ? 1 : 0) < 0) throw sysError('prctl', lastErrno());
}

/** Tells whether this process is a child subreaper. */
export function isChildSubreaper(): boolean {
  const v = new Int32Array(1);
  if (libc.prctl(PR_GET_CHILD_SUBREAPER, 'int *', v) < 0) throw sysError('prctl', lastErrno());
  return v[0] !== 0;
}

/** What {@link peekExited} saw: a child that has exited but is not reaped yet. */
export interface ExitedChild {
  pid: number;
  /** The exit code, or 128 + the signal number when a signal ended it. */
  status: number;
}

function decodeSiginfo(info: Buffer): ExitedChild | null {
  const pid = info.readInt32LE(16);
  if (pid === 0) return null;
  const code = info.readInt32LE(8), raw = info.readInt32LE(24);
  return { pid, status: code === CLD_EXITED ? raw : 128 + raw };
}

/**
 * Looks at an exited child without reaping it (`waitid(WEXITED|WNOHANG|WNOWAIT)`): with a pid,
 * that child; without, any child. Returns null when none has exited. Reaping is left to the owner
 * (libuv for its own children, {@link reap} for the rest) so nobody steals another's exit status.
 */
export function peekExited(pid?: number): ExitedChild | null {
  const info = Buffer.alloc(128);
  const rc = libc.waitid(pid === undefined ? P_ALL : P_PID, pid ?? 0, info, WEXITED | WNOHANG | WNOWAIT);
  if (rc < 0) {
    const errno = lastErrno();
    if (errno === 10 /* ECHILD */) return null;
    throw sysError('waitid', errno);
  }
  return decodeSiginfo(info);
}

/** Decodes a `waitpid` status word into an exit code or 128 + signal. */
export function decodeWaitStatus(raw: number): number {
  const sig = raw & 0x7f;
  return sig === 0 ? (raw >> 8) & 0xff : 128 + sig;
}

/**
 * Reaps one child by pid without waiting (`waitpid(pid, WNOHANG)`). Returns its status (code or
 * 128 + signal), or null when it has not exited. Never call it for a pid that libuv spawned.
 * @throws TaskioError `ERR_INVALID_ARG_VALUE` for anything but a positive pid (never `-1` or `0`).
 */
export function reap(pid: number): number | null {
  // waitpid(-1) or (0) would reap any child, stealing libuv's exits: only one positive pid.
  validatePid(pid);
  const status = new Int32Array(1);
  const rc = libc.waitpid(pid, status, WNOHANG);
  if (rc < 0) throw sysError('waitpid', lastErrno());
  return rc === 0 ? null : decodeWaitStatus(status[0]!);
}

/** Opens a pidfd for `pid` (`pidfd_open`), stable across pid reuse. Close it with `fs.closeSync`. */
export function pidfdOpen(pid: number): number {
  const fd = Number(libc.syscall(SYS_pidfd_open, 'int', pid, 'uint', 0));
  if (fd < 0) throw sysError('pidfd_open', lastErrno());
  return fd;
}

const SYS_pidfd_send_signal = 424, SYS_pidfd_getfd = 438;

/**
 * A duplicate of fd `targetFd` of the process behind `pidfd` (`pidfd_getfd(2)`, close-on-exec): the
 * same open file description. Needs ptrace rights over that process (root, or `CAP_SYS_PTRACE`;
 * a same-uid caller only where Yama's `ptrace_scope` allows it): `EPERM` otherwise.
 */
export function pidfdGetFd(pidfd: number, targetFd: number): number {
  const fd = Number(libc.syscall(SYS_pidfd_getfd, 'int', pidfd, 'int', targetFd, 'uint', 0));
  if (fd < 0) throw sysError('pidfd_getfd', lastErrno());
  return fd;
}

/** Sends `signal` (a number) to the process behind `pidfd` (`pidfd_send_signal(2)`): never to a process that reused its pid. */
export function pidfdSendSignal(pidfd: number, signal: number): void {
  if (Number(libc.syscall(SYS_pidfd_send_signal, 'int', pidfd, 'int', signal, 'void *', null, 'uint', 0)) < 0) throw sysError('pidfd_send_signal', lastErrno());
}
