import fs from 'node:fs';
import { TaskioError } from '../errors.js';
import { dupFd, tryLockExclusive } from '../sys/index.js';
import { flockHolders } from '../sys/procLocks.js';
import { openFifoFd, openReaderFd } from './openFifo.js';

/**
 * The single-reader lock of a FIFO set: an exclusive `flock` on the guarding FIFO itself (stdout,
 * or stderr when there is no stdout), taken through an `O_RDONLY|O_NONBLOCK` open of its own — no
 * file is made beside the FIFOs, so a directory that containerd (or anyone) owns is left exactly as
 * it was, and its owner's "remove the FIFOs, then the empty directory" works.
 *
 * flock belongs to the open file description, so the kernel drops the lock when the holder closes
 * the fd or dies (a crashed client never wedges the set), and a second open — in this process or
 * another — cannot take it. The lock fd counts as one more reader of the FIFO while held; that
 * changes nothing for a writer, whose reader is the client holding the lock anyway.
 */
export class ReaderLock {
  #fd: number;

  private constructor(
    /** The FIFO the lock is held on. */
    readonly path: string,
    fd: number,
  ) {
    this.#fd = fd;
  }

  /**
   * Takes the lock without waiting, making the FIFO when it is missing (as its reader would) unless
   * `create` is false. A caller that made the set's FIFOs up front passes those it made as `made`
   * instead: no second `mkfifo`, and no look before the open of one it made ({@link openReaderFd}).
   * @throws TaskioError `EBUSY` when another reader, in this or another process, holds it; the
   *   message names the FIFO and, when `/proc/locks` shows it, the holder's pid.
   * @throws TaskioError `ERR_NOT_FIFO` when the path holds anything but a FIFO.
   */
  static acquire(fifoPath: string, { create = true, made }: { create?: boolean; made?: readonly string[] } = {}): ReaderLock {
    const fd = made ? openReaderFd(fifoPath, made) : openFifoFd(fifoPath, 'r', { create });
    let holder: string;
    try {
      if (tryLockExclusive(fd)) return new ReaderLock(fifoPath, fd);
      holder = describeHolder(fd);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    fs.closeSync(fd);
    throw new TaskioError('EBUSY', `FIFO set ${JSON.stringify(fifoPath)} is already attached: ${holder} holds the reader lock on it`);
  }

  /**
   * A new fd on the locked FIFO (the same open file description, read side, non-blocking): what a
   * reader of that FIFO uses instead of opening it again. Closing it keeps the lock, which belongs
   * to the description until every fd on it is closed.
   */
  dupFd(): number {
    if (this.#fd < 0) throw new TaskioError('ERR_INVALID_STATE', `the reader lock on ${JSON.stringify(this.path)} was released`);
    return dupFd(this.#fd);
  }

  /** Releases the lock; idempotent. */
  release(): void {
    if (this.#fd < 0) return;
    fs.closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** Who holds the `flock` on the file behind `fd`, from `/proc/locks`; "another reader" when unknown. */
function describeHolder(fd: number): string {
  const pid = flockHolders(fs.fstatSync(fd, { bigint: true }))[0];
  if (pid === undefined) return 'another reader';
  return pid === process.pid ? `another reader in this process (pid ${pid})` : `another reader (pid ${pid})`;
}
