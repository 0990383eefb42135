import { libc, lastErrno } from './libc.js';
import { sysError } from './errno.js';

// ppoll(2): `poll` does not exist on arm64. Numbers from the kernel's syscall tables.
const SYS_ppoll: Partial<Record<string, number>> = { x64: 271, arm64: 73 };
const EINTR = 4;
const POLLIN = 0x1, POLLHUP = 0x10, POLLNVAL = 0x20, POLLRDHUP = 0x2000;

/** `ppoll(2)` with a zero timeout (it never blocks): the `revents` of each of `fds` for `events`. */
function pollNow(fds: readonly number[], events: number): number[] {
  // struct pollfd { int fd; short events; short revents; }
  const buf = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, i) => {
    buf.writeInt32LE(fd, i * 8);
    buf.writeInt16LE(events, i * 8 + 4);
  });
  const nr = SYS_ppoll[process.arch];
  if (nr === undefined) throw sysError('ppoll', 38 /* ENOSYS */);
  const zero = Buffer.alloc(16); // struct timespec { 0, 0 }: do not wait
  for (;;) {
    const rc = Number(libc.syscall(nr, 'void *', buf, 'ulong', fds.length, 'void *', zero, 'void *', null, 'ulong', 8));
    if (rc >= 0) break;
    const errno = lastErrno();
    // A signal pending as the call found no fd ready (a daemon, the subreaper of its tasks, gets
    // SIGCHLD at any time): the kernel does not restart ppoll for a process with handlers, and
    // nothing was polled. A call that never waits is simply made again.
    if (errno !== EINTR) throw sysError('poll', errno);
  }
  return fds.map((_, i) => {
    const revents = buf.readInt16LE(i * 8 + 6);
    if (revents & POLLNVAL) throw sysError('poll', 9 /* EBADF */);
    return revents;
  });
}

/**
 * Which of `fds` are readable right now: for a pidfd, readable means the process has exited. One
 * call covers any number of fds.
 * @throws a Node-shaped `SysError` when poll fails; `EBADF` when an fd is not open.
 */
export function pollReadable(fds: readonly number[]): boolean[] {
  if (fds.length === 0) return [];
  return pollNow(fds, POLLIN).map((revents) => (revents & (POLLIN | POLLHUP)) !== 0);
}

/**
 * Whether the peer of the stream socket `fd` has shut down its writing (`shutdown(SHUT_WR)`, or
 * closed): everything it sent is then already in this end's receive queue, up to the EOF
 * (`POLLRDHUP`; unread data does not hide it).
 * @throws a Node-shaped `SysError` as {@link pollReadable}.
 */
export function peerShutWrite(fd: number): boolean {
  return (pollNow([fd], POLLRDHUP)[0]! & (POLLRDHUP | POLLHUP)) !== 0;
}

/**
 * Whether the peer of the unix stream socket `fd` has closed it (`POLLHUP`: both directions shut,
 * which a process that exits or is killed does), not only shut down its writing: a half-closed
 * peer still reads.
 * @throws a Node-shaped `SysError` as {@link pollReadable}.
 */
export function peerClosed(fd: number): boolean {
  return (pollNow([fd], POLLRDHUP)[0]! & POLLHUP) !== 0;
}
