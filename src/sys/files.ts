import fs from 'node:fs';
import { libc, lastErrno } from './libc.js';
import { sysError } from './errno.js';

const F_GETFD = 1, FD_CLOEXEC = 1, F_SETFL = 4, F_GETFL = 3, F_DUPFD_CLOEXEC = 1030, F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032;
const LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;
const FIONREAD = 0x541b, TIOCOUTQ = 0x5411, TIOCSWINSZ = 0x5414, TIOCGWINSZ = 0x5413;
const O_CLOEXEC = 0o2000000, O_NONBLOCK = 0o4000;
const EEXIST = 17;

function check(rc: number, syscall: string, path?: string): number {
  if (rc < 0) throw sysError(syscall, lastErrno(), path);
  return rc;
}

/**
 * Closes every fd above 2 that is not close-on-exec and returns them: what this process inherited
 * from the one that started it (Node, libuv and taskio open everything `O_CLOEXEC`). For a daemon:
 * it holds what it has for as long as it runs and passes it on to every process it spawns, so a
 * pipe inherited from the command that started it — a CI step's, an ssh session's — would never see
 * its end, as long as the daemon or any of its tasks lives.
 */
export function closeInheritedFds(): number[] {
  const closed: number[] = [];
  for (const name of fs.readdirSync('/proc/self/fd')) {
    const fd = Number(name);
    if (!(fd > 2)) continue;
    const flags = libc.fcntl(fd, F_GETFD) as number;
    if (flags < 0 || (flags & FD_CLOEXEC) !== 0) continue; // gone (readdir's own fd) or ours
    fs.closeSync(fd);
    closed.push(fd);
  }
  return closed;
}

/** Creates a FIFO at `path` with `mode` (less the umask). Throws `EEXIST` if anything is there. */
export function mkfifo(path: string, mode = 0o600): void {
  if (libc.mkfifo(path, mode) === 0) return;
  const errno = lastErrno();
  // errno is read through koffi after the call came back to JS, and what ran on the way (allocation
  // in the engine) can have set it again: the soak's clients saw ENOMEM, twice in a run, for FIFOs
  // that existed. A name that is there is mkfifo's EEXIST, whatever errno says; callers take that
  // as "leave it as it is".
  if (errno !== EEXIST && nameExists(path)) throw sysError('mkfifo', EEXIST, path);
  throw sysError('mkfifo', errno, path);
}

/** Whether anything (a dangling symlink too) is at `path`; false when that cannot be told. */
function nameExists(path: string): boolean {
  try {
    return fs.lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/**
 * Removes the name `path` (never a directory). Returns false when nothing was there (`ENOENT`) —
 * without the exception `fs.unlinkSync` would build, for callers that remove names which often do
 * not exist; other failures throw.
 */
export function unlinkIfPresent(path: string): boolean {
  if (libc.unlink(path) === 0) return true;
  const errno = lastErrno();
  if (errno === 2 /* ENOENT */) return false;
  throw sysError('unlink', errno, path);
}

/**
 * Takes an exclusive `flock` on `fd` without waiting. Returns false when another open file
 * description holds it (EWOULDBLOCK); other failures throw.
 */
export function tryLockExclusive(fd: number): boolean {
  if (libc.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const errno = lastErrno();
  if (errno === 11 /* EWOULDBLOCK */) return false;
  throw sysError('flock', errno);
}

/** Releases a `flock` held on `fd`. Closing the fd releases it too. */
export function unlock(fd: number): void {
  check(libc.flock(fd, LOCK_UN), 'flock');
}

/** Options for {@link pipe2}. */
export interface PipeOptions {
  /** Set `O_CLOEXEC` on both ends (default true: fds reach children only through `stdio`). */
  cloexec?: boolean;
  /** Set `O_NONBLOCK` on both ends (default false: runtimes expect blocking stdio). */
  nonblock?: boolean;
}

/** Creates a real pipe (never a socketpair, which gVisor cannot use as `/dev/stdout`). */
export function pipe2(opts: PipeOptions = {}): { read: number; write: number } {
  const fds = new Int32Array(2);
  const flags = (opts.cloexec === false ? 0 : O_CLOEXEC) | (opts.nonblock ? O_NONBLOCK : 0);
  check(libc.pipe2(fds, flags), 'pipe2');
  return { read: fds[0]!, write: fds[1]! };
}

/**
 * Duplicates `fd` (`fcntl(F_DUPFD_CLOEXEC)`): a second fd, close-on-exec, on the same open file
 * description, numbered `min` or above — for a reader that Node may close while the original must
 * stay open, or a copy clear of the fd numbers a child is about to receive.
 */
export function dupFd(fd: number, min = 3): number {
  return check(libc.fcntl(fd, F_DUPFD_CLOEXEC, 'int', min), 'fcntl');
}

/** The capacity of the pipe or FIFO behind `fd`, in bytes. */
export function getPipeSize(fd: number): number {
  return check(libc.fcntl(fd, F_GETPIPE_SZ), 'fcntl');
}

/** Sets the capacity of the pipe behind `fd`; the kernel rounds up. Returns the new size. */
export function setPipeSize(fd: number, size: number): number {
  return check(libc.fcntl(fd, F_SETPIPE_SZ, 'int', size), 'fcntl');
}

/** The file status flags (`O_NONBLOCK`, `O_APPEND`, …) of the open file description behind `fd`. */
export function getFileFlags(fd: number): number {
  return check(libc.fcntl(fd, F_GETFL), 'fcntl');
}

/** Replaces the file status flags of the open file description behind `fd`. */
export function setFileFlags(fd: number, flags: number): void {
  check(libc.fcntl(fd, F_SETFL, 'int', flags), 'fcntl');
}

/** Bytes waiting to be read in the pipe, FIFO, socket or tty behind `fd` (`FIONREAD`). */
export function bytesReadable(fd: number): number {
  const n = new Int32Array(1);
  check(libc.ioctl(fd, FIONREAD, 'int *', n), 'ioctl');
  return n[0]!;
}

/**
 * Bytes written into the socket `fd` that its peer has not read yet (`SIOCOUTQ`): on a unix stream
 * socket, what waits in the peer's receive queue.
 */
export function bytesUnread(fd: number): number {
  const n = new Int32Array(1);
  check(libc.ioctl(fd, TIOCOUTQ, 'int *', n), 'ioctl');
  return n[0]!;
}

/** A terminal window size, in character cells. */
export interface WinSize {
  cols: number;
  rows: number;
}

/** Sets the window size of the terminal behind `fd` (`TIOCSWINSZ`); the process gets `SIGWINCH`. */
export function setWinSize(fd: number, ws: WinSize): void {
  const buf = new Uint16Array([ws.rows, ws.cols, 0, 0]);
  check(libc.ioctl(fd, TIOCSWINSZ, 'uint16 *', buf), 'ioctl');
}

/** Reads the window size of the terminal behind `fd` (`TIOCGWINSZ`). */
export function getWinSize(fd: number): WinSize {
  const buf = new Uint16Array(4);
  check(libc.ioctl(fd, TIOCGWINSZ, 'uint16 *', buf), 'ioctl');
  return { rows: buf[0]!, cols: buf[1]! };
}
