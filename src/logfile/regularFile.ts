import fs from 'node:fs';
import { promisify } from 'node:util';
import { isNotRegularOpenError, notRegularFile } from '../notRegularFile.js';

const open = promisify(fs.open), close = promisify(fs.close), fstat = promisify(fs.fstat), lstat = promisify(fs.lstat);

// O_NOFOLLOW: a symlink planted at a log path must not redirect a root writer (or reader) to
// another file. O_NONBLOCK: an open of a FIFO planted there must not wait for the other side on a
// threadpool thread (four such opens freeze every fs call); it has no effect on a regular file's writes.
export const safeFlags = fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | 0o2000000 /* O_CLOEXEC */;

/**
 * Opens a log file by `path` with `flags` (and `mode` when it creates one), never following a
 * symlink and never blocking, and checks that what it opened is a regular file. A symlink, FIFO,
 * socket, device or directory at `path` throws `ERR_NOT_REGULAR_FILE` naming the path (and what is
 * there), with nothing left open. Returns the fd and its stat.
 */
export async function openRegularFile(path: string, flags: number, mode?: number): Promise<{ fd: number; stat: fs.Stats }> {
  let fd: number;
  try {
    fd = await open(path, flags | safeFlags, mode);
  } catch (e) {
    if (isNotRegularOpenError(e)) throw notRegularFile(path, await lstat(path).catch(() => null), { cause: e });
    throw e;
  }
  try {
    const stat = await fstat(fd);
    if (!stat.isFile()) throw notRegularFile(path, stat);
    return { fd, stat };
  } catch (e) {
    await close(fd).catch(() => undefined);
    throw e;
  }
}
