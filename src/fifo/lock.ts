import fs from 'node:fs';
import { TaskioError } from '../errors.js';
import { tryLockExclusive } from '../sys/index.js';

// libuv opens every fd with O_CLOEXEC, so none leaks into a spawned task.
const { O_RDWR, O_CREAT, O_NOFOLLOW } = fs.constants;

/** The sidecar lock file that guards the reader side of a FIFO set. */
export function lockPathFor(fifoPath: string): string {
  return `${fifoPath}.lock`;
}

/**
 * The single-reader lock of a FIFO set: an exclusive `flock` on `<fifo>.lock`. Because flock
 * belongs to the open file description, the kernel drops it when the holder closes the fd or
 * dies, so a crashed client never wedges the set.
 */
export class ReaderLock {
  private fd: number;

  private constructor(readonly path: string, fd: number) {
    this.fd = fd;
  }

  /**
   * Takes the lock without waiting.
   * @throws TaskioError `EBUSY` when another reader, in this or another process, holds it.
   */
  static acquire(fifoPath: string): ReaderLock {
    const path = lockPathFor(fifoPath);
    const fd = fs.openSync(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600);
    let locked = false;
    try {
      locked = tryLockExclusive(fd);
    } finally {
      if (!locked) fs.closeSync(fd);
    }
    if (!locked) {
      throw new TaskioError('EBUSY', `FIFO set ${JSON.stringify(fifoPath)} is already attached: another reader holds ${path}`);
    }
    return new ReaderLock(path, fd);
  }

  /** Releases the lock; idempotent. The lock file stays: the FIFO set's close removes it. */
  release(): void {
    if (this.fd < 0) return;
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}
