import { libc, lastErrno } from './libc.js';
import { sysError } from './errno.js';

// ppoll(2): `poll` does not exist on arm64. Numbers from the kernel's syscall tables.
const SYS_ppoll: Partial<Record<string, number>> = { x64: 271, arm64: 73 };
const POLLIN = 0x1, POLLHUP = 0x10, POLLNVAL = 0x20;

/**
 * Which of `fds` are readable right now (`ppoll(2)` with a zero timeout, so it never blocks): for a
 * pidfd, readable means the process has exited. One call covers any number of fds.
 * @throws a Node-shaped `SysError` when poll fails; `EBADF` when an fd is not open.
 */
export function pollReadable(fds: readonly number[]): boolean[] {
  if (fds.length === 0) return [];
  // struct pollfd { int fd; short events; short revents; }
  const buf = Buffer.alloc(8 * fds.length);
  fds.forEach((fd, i) => {
    buf.writeInt32LE(fd, i * 8);
    buf.writeInt16LE(POLLIN, i * 8 + 4);
  });
  const nr = SYS_ppoll[process.arch];
  if (nr === undefined) throw sysError('ppoll', 38 /* ENOSYS */);
  const zero = Buffer.alloc(16); // struct timespec { 0, 0 }: do not wait
  const rc = Number(libc.syscall(nr, 'void *', buf, 'ulong', fds.length, 'void *', zero, 'void *', null, 'ulong', 8));
  if (rc < 0) throw sysError('poll', lastErrno());
  return fds.map((_, i) => {
    const revents = buf.readInt16LE(i * 8 + 6);
    if (revents & POLLNVAL) throw sysError('poll', 9 /* EBADF */);
    return (revents & (POLLIN | POLLHUP)) !== 0;
  });
}
