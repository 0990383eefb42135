import { libc, lastErrno } from '../../sys/libc.js';
import { sysError } from '../../sys/index.js';

const F_DUPFD_CLOEXEC = 1030;

/**
 * Duplicates `fd` (`fcntl(F_DUPFD_CLOEXEC)`): a second fd on the same open file description.
 *
 * TODO(sys): this belongs in `src/sys/files.ts` beside the other fcntl wrappers; it lives here only
 * until that folder exports a `dup`.
 */
export function dupFd(fd: number): number {
  const rc = libc.fcntl(fd, F_DUPFD_CLOEXEC, 'int', 3);
  if (rc < 0) throw sysError('fcntl', lastErrno());
  return rc;
}
