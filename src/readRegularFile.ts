import fs from 'node:fs';
import { TaskioError } from './errors.js';

/**
 * Reads a file by a path that something else may have planted: opened without following a
 * symlink (`ELOOP`) and without blocking (a FIFO there would hold the thread in `open(2)`), and
 * read only once fstat says it is a regular file. Null for anything else at `path`; an open that
 * fails throws its errno error. Synchronous: for small files (specs, state files).
 * `followLinks`: for a file the user named on a command line (an `--env-file`), which may be a link.
 * `maxBytes`: a larger file is refused (`ERR_FS_FILE_TOO_LARGE`) before it is read.
 */
export function readRegularFileSync(path: string, opts: { followLinks?: boolean; maxBytes?: number } = {}): string | null {
  const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (opts.followLinks ? 0 : fs.constants.O_NOFOLLOW);
  const fd = fs.openSync(path, flags);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return null;
    // Refused before it is read: a file named by mistake (an image, a sparse file) would otherwise
    // take as much memory and time as its size.
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes) {
      throw new TaskioError('ERR_FS_FILE_TOO_LARGE', `${path} is larger than ${opts.maxBytes} bytes (${st.size})`);
    }
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}
