import fs from 'node:fs';
import { promisify } from 'node:util';
import type { LogFileInfo, OpenLogFile } from './logFileSet.js';
import type { LogFormat } from './options.js';
import { seekSince } from './seekSince.js';

const read = promisify(fs.read);

/** Where reading starts: a file of the log and a byte offset in it. */
export interface LogStart {
  file: OpenLogFile;
  offset: number;
}

/**
 * Counts entries back from the end of `files` (the log's files, open, newest first) and finds where
 * the last `tail` of them begin. An entry is a line: the last newline ends the last entry, and bytes
 * after it are an entry still being written, not counted. A raw line may go on in the next file (a
 * raw writer rotates at any byte); a CRI entry does not, so the end of an older CRI file ends its
 * last entry even without a newline (a crash mid-entry), as the reader hands that line out. Each
 * file is read up to the size it had when opened. Null when there is no file.
 */
export async function findTail(files: OpenLogFile[], tail: number, format: LogFormat): Promise<LogStart | null> {
  const buf = Buffer.allocUnsafe(64 * 1024);
  let need = tail + 1; // newlines to pass: the one ending the last entry, then one before each entry
  for (const [k, file] of files.entries()) {
    let end = file.size;
    // The first read of an older CRI file holds its last byte: when that is no newline, the last
    // line ends an entry all the same.
    let first = k > 0 && format === 'cri';
    while (end > 0) {
      const n = Math.min(buf.length, end);
      const { bytesRead } = await read(file.fd, buf, 0, n, end - n);
      if (first && buf[bytesRead - 1] !== 0x0a && --need === 0) return { file, offset: end };
      first = false;
      for (let i = bytesRead - 1; i >= 0; i--) {
        if (buf[i] === 0x0a && --need === 0) return { file, offset: end - n + i + 1 };
      }
      end -= n;
    }
    // Every entry of this file is wanted; `need` is now one more than the entries still wanted,
    // which is right for the older file: its end ends its last entry (CRI), or the line that goes
    // on in this file (raw).
  }
  const oldest = files[files.length - 1];
  return oldest ? { file: oldest, offset: 0 } : null;
}

/**
 * Finds the oldest of `files` (open, newest first) that may hold entries at or after `since` (by
 * mtime), at the line where its entries reach `since` ({@link seekSince}; `since` is for CRI logs
 * only); without `since`, the start of the oldest. Null when there is no file.
 */
export async function findStart(files: OpenLogFile[], since: Date | undefined): Promise<LogStart | null> {
  // A file last modified before `since` holds only older entries: each entry is stamped before it is written.
  const file = [...files].reverse().find((f) => since === undefined || f.mtimeMs >= since.getTime()) ?? files[0];
  if (!file) return null;
  return { file, offset: since === undefined ? 0 : await seekSince(file.fd, file.size, since.getTime()) };
}

/**
 * Finds the end of the newest of `files` (open, newest first): only new output. That is `name` — or,
 * while a rotation has renamed it and no new `name` exists yet, the newest file there is.
 */
export async function findEnd(files: OpenLogFile[], format: LogFormat): Promise<LogStart | null> {
  // CRI: begin after the last whole entry, so an entry being written now counts as new output.
  if (format === 'cri') return findTail(files, 0, format);
  const newest = files[0];
  return newest ? { file: newest, offset: newest.size } : null;
}

/** Whether a file newer than the one at `k` (-1: gone from the set, so all are newer) holds data. */
export function newerHasData(snap: (LogFileInfo | null)[], k: number): boolean {
  const newer = k < 0 ? snap : snap.slice(0, k);
  return newer.some((x) => x !== null && x.size > 0);
}
