import fs from 'node:fs';
import type { OpenLogFile } from './logFileSet.js';
import { safeFlags } from './regularFile.js';

/** Output a reader lost: files of its log that were removed before it read them. */
export interface LogGap {
  /** How many files of the log were lost. */
  files: number;
  /** Their bytes (as the log holds them: CRI lines with their headers, or raw bytes). */
  bytes: number;
}

/** The most files one reader holds open beyond the set (its fds), whatever their size. */
export const maxHeldFiles = 1024;
/** The bytes one reader may hold beyond the set even when the set itself keeps fewer. */
export const minHeldBytes = 16 << 20;

/**
 * The files of a log that one reader has not read yet and that the writer (in this process) was about
 * to remove, opened just before, oldest first: an open file stays readable after its unlink. Each is
 * complete (the writer is done with it), so its size is final.
 *
 * Bounded, since a reader that stopped reading must not make the process hold files and disk without
 * end: at most {@link maxHeldFiles} files and at most as many bytes as the set itself keeps (or
 * {@link minHeldBytes}, whichever is more), but always the newest one. Past that the oldest are let
 * go, and what they held is the gap handed out with the next file taken.
 */
export class HeldFiles {
  readonly #files: OpenLogFile[] = [];
  #bytes = 0;
  #lost: LogGap = { files: 0, bytes: 0 };

  /** How many files are held. */
  get count(): number {
    return this.#files.length;
  }

  /**
   * Opens the file at `file` (never following a symlink, never blocking on a FIFO) and holds it as
   * the newest; `setBytes` is what the log set keeps. Nothing when there is no regular file there,
   * or it is held already (a rotation that failed left it in place).
   */
  hold(file: string, setBytes: number): void {
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | safeFlags);
    } catch {
      return; // nothing there (the set is not full yet), or no regular file: nothing to keep
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile() || this.#files.some((f) => f.ino === st.ino && f.dev === st.dev)) {
      fs.closeSync(fd);
      return;
    }
    this.#files.push({ fd, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, complete: true });
    this.#bytes += st.size;
    const maxBytes = Math.max(setBytes, minHeldBytes);
    while (this.#files.length > maxHeldFiles || (this.#files.length > 1 && this.#bytes > maxBytes)) {
      const old = this.#files.shift()!;
      this.#bytes -= old.size;
      fs.closeSync(old.fd);
      this.#lost.files++;
      this.#lost.bytes += old.size;
    }
  }

  /** The oldest file held, handed over (the caller closes it), with the gap let go before it; null when none. */
  take(): { file: OpenLogFile; gap: LogGap | null } | null {
    const file = this.#files.shift();
    if (!file) return null;
    this.#bytes -= file.size;
    const gap = this.#lost.files > 0 ? this.#lost : null;
    this.#lost = { files: 0, bytes: 0 };
    return { file, gap };
  }

  /** Closes every file held. */
  close(): void {
    for (const f of this.#files.splice(0)) fs.closeSync(f.fd);
    this.#bytes = 0;
  }
}
