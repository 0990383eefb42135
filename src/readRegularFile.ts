import fs from 'node:fs';

/**
 * Reads a file by a path that something else may have planted: opened without following a
 * symlink (`ELOOP`) and without blocking (a FIFO there would hold the thread in `open(2)`), and
 * read only once fstat says it is a regular file. Null for anything else at `path`; an open that
 * fails throws its errno error. Synchronous: for small files (specs, state files).
 * `followLinks`: for a file the user named on a command line (an `--env-file`), which may be a link.
 */
export function readRegularFileSync(path: string, opts: { followLinks?: boolean } = {}): string | null {
  const flags = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (opts.followLinks ? 0 : fs.constants.O_NOFOLLOW);
  const fd = fs.openSync(path, flags);
  try {
    return fs.fstatSync(fd).isFile() ? fs.readFileSync(fd, 'utf8') : null;
  } finally {
    fs.closeSync(fd);
  }
}
