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

/** A held file and the files let go right before it. */
interface Held {
  file: OpenLogFile;
  gap: LogGap | null;
}

function addGap(a: LogGap | null, b: LogGap | null): LogGap | null {
  if (a === null) return b;
  if (b === null) return a;
  return { files: a.files + b.files, bytes: a.bytes + b.bytes };
}

/**
 * The files of a log that one reader has not read yet and that the writer (in this process) was about
 * to remove, opened just before, oldest first: an open file stays readable after its unlink. Each is
 * complete (the writer is done with it), so its size is final.
 *
 * Bounded, since a reader that stopped reading must not make the process hold files and disk without
 * end: at most {@link maxHeldFiles} files and at most as many bytes as the set itself keeps (or
 * {@link minHeldBytes}, whichever is more), but always the newest one. Past that the oldest are let
 * go, and what they held is the gap handed out with the next file taken. While the reader locates
 * its start, the files its search has open count toward the bound too ({@link reserve}).
 */
export class HeldFiles {
  readonly #files: Held[] = [];
  #bytes = 0;
  #maxBytes = minHeldBytes;
  /** The files the reader has open outside this list (its search's), counted toward the bound. */
  #reserved: LogGap = { files: 0, bytes: 0 };

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
    if (!st.isFile() || this.#files.some(({ file: f }) => f.ino === st.ino && f.dev === st.dev)) {
      fs.closeSync(fd);
      return;
    }
    this.#files.push({ file: { fd, dev: st.dev, ino: st.ino, birthtimeMs: st.birthtimeMs, size: st.size, mtimeMs: st.mtimeMs, complete: true }, gap: null });
    this.#bytes += st.size;
    this.#maxBytes = Math.max(setBytes, minHeldBytes);
    this.#letGo(1);
  }

  /** Lets the oldest go until what is held and reserved fits the bound, keeping at least `keep` files. */
  #letGo(keep: number): LogGap | null {
    const files = this.#files;
    let lost: LogGap | null = null;
    while (files.length > keep && (files.length + this.#reserved.files > maxHeldFiles || this.#bytes + this.#reserved.bytes > this.#maxBytes)) {
      const old = files.shift()!;
      this.#bytes -= old.file.size;
      fs.closeSync(old.file.fd);
      lost = addGap(addGap(lost, old.gap), { files: 1, bytes: old.file.size });
    }
    if (files.length > 0) files[0]!.gap = addGap(lost, files[0]!.gap);
    return files.length > 0 ? null : lost;
  }

  /** The oldest file held, handed over (the caller closes it), with the gap let go before it; null when none. */
  take(): { file: OpenLogFile; gap: LogGap | null } | null {
    const held = this.#files.shift();
    if (!held) return null;
    this.#bytes -= held.file.size;
    return held;
  }

  /**
   * Locating: a file of the set the reader's search opened (it may leave the set while the search
   * runs) counts toward the bound, so the oldest held may be let go, until {@link release}.
   */
  reserve(file: OpenLogFile): void {
    this.#reserved.files++;
    this.#reserved.bytes += file.size;
    this.#letGo(1);
  }

  /**
   * Locating: hands over every file held (removed since the reader began; older than the set),
   * oldest first, with the gap of the files let go before the first of them. The oldest are let go
   * first until they fit the bound beside what is reserved, and those handed over stay reserved. A
   * gap lies only before the oldest file held here: files go back ({@link unshift}) only once the
   * reader located its start, and it never locates again.
   */
  takeAll(): { files: OpenLogFile[]; gap: LogGap | null } {
    const lost = this.#letGo(0);
    const gap = addGap(lost, this.#files[0]?.gap ?? null);
    const files = this.#files.splice(0).map((h) => h.file);
    this.#reserved.files += files.length;
    this.#reserved.bytes += this.#bytes;
    this.#bytes = 0;
    return { files, gap };
  }

  /** Locating is over: nothing is reserved any more. */
  release(): void {
    this.#reserved = { files: 0, bytes: 0 };
  }

  /**
   * Holds `files` (complete, removed from the set, oldest first) as older than every file held:
   * the files the search had open that are newer than the start it found and left the set.
   * They were reserved, so the bound holds without letting any go.
   */
  unshift(files: OpenLogFile[]): void {
    this.#files.unshift(...files.map((file) => ({ file, gap: null })));
    for (const f of files) this.#bytes += f.size;
  }

  /** Closes every file held. */
  close(): void {
    for (const { file } of this.#files.splice(0)) fs.closeSync(file.fd);
    this.#bytes = 0;
    this.#reserved = { files: 0, bytes: 0 };
  }
}
