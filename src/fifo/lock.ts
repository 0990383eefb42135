import fs from 'node:fs';
import { TaskioError } from '../errors.js';
import { dupFd, tryLockExclusive } from '../sys/index.js';
import { openFifoFd } from './openFifo.js';

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
   * Takes the lock without waiting, making the FIFO when it is missing (as its reader would).
   * @throws TaskioError `EBUSY` when another reader, in this or another process, holds it; the
   *   message names the FIFO and, when `/proc/locks` shows it, the holder's pid.
   * @throws TaskioError `ERR_NOT_FIFO` when the path holds anything but a FIFO.
   */
  static acquire(fifoPath: string): ReaderLock {
    const fd = openFifoFd(fifoPath, 'r', { create: true });
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
  const pid = flockHolder(fd);
  if (pid === null) return 'another reader';
  return pid === process.pid ? `another reader in this process (pid ${pid})` : `another reader (pid ${pid})`;
}

/**
 * The pid `/proc/locks` gives for the `FLOCK` on the inode of `fd` (lines look like
 * `1: FLOCK  ADVISORY  WRITE 4242 fe:00:2147861 0 EOF`, the device as hex major:minor). Null when
 * there is none, when the holder is in another pid namespace, or when `/proc` is not there.
 */
function flockHolder(fd: number): number | null {
  let text: string;
  try {
    text = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return null;
  }
  const st = fs.fstatSync(fd, { bigint: true });
  const major = Number(((st.dev >> 8n) & 0xfffn) | ((st.dev >> 32n) & ~0xfffn));
  const minor = Number((st.dev & 0xffn) | ((st.dev >> 12n) & ~0xffn));
  for (const line of text.split('\n')) {
    // `->` marks a waiter, not a holder.
    const m = /^\d+:\s+FLOCK\s+\S+\s+WRITE\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m || parseInt(m[2]!, 16) !== major || parseInt(m[3]!, 16) !== minor || BigInt(m[4]!) !== st.ino) continue;
    const pid = Number(m[1]);
    return pid > 0 ? pid : null;
  }
  return null;
}
