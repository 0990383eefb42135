import fs from 'node:fs';
import { promisify } from 'node:util';
import { parseCriEntry } from './criParse.js';

const read = promisify(fs.read);

/** What one read of a probe takes: many entries of the usual length. */
const probeSize = 64 * 1024;

/**
 * The offset of a line in a CRI log file before which every entry is older than `sinceMs`, found
 * by bisecting the file on the entries' times instead of reading it from its start (docker's
 * json-file reads every entry to find `--since`, minutes on a big log: docker/for-linux#972). The
 * reader starts there and still skips the older entries after it.
 *
 * It relies on what makes a CRI file: one writer stamps each entry as it writes it, so times do
 * not go down along the file. A probe reads on past lines that are no entries; one that finds no
 * entry in the range searched moves the search toward the start, never past entries. A wall clock
 * stepped back across `since` while the log was written may hide the entries written between the
 * step and the time it had reached, as any search by time in a log does (journald's too).
 */
export async function seekSince(fd: number, size: number, sinceMs: number): Promise<number> {
  const buf = Buffer.allocUnsafe(probeSize);
  let lo = 0, hi = size; // lo: a line start with only older entries before it
  while (hi - lo > probeSize) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const found = await firstEntryAfter(fd, buf, mid, hi, size);
    if (found !== null && found.ms < sinceMs) lo = found.line;
    else hi = mid;
  }
  return lo;
}

/**
 * The first CRI entry whose line starts after offset `pos` and before `end` (its offset and time),
 * or null. It reads on, a probe at a time, past lines that are no entries and past lines longer
 * than a probe.
 */
async function firstEntryAfter(fd: number, buf: Buffer, pos: number, end: number, size: number): Promise<{ line: number; ms: number } | null> {
  let skip = true; // the line under `pos` (or one longer than a probe) began before the bytes read
  for (let at = pos; at < end;) {
    const { bytesRead } = await read(fd, buf, 0, Math.min(buf.length, size - at), at);
    if (bytesRead === 0) return null;
    const data = buf.subarray(0, bytesRead);
    let start = 0;
    if (skip) {
      start = data.indexOf(0x0a) + 1;
      if (start === 0) {
        at += bytesRead;
        continue;
      }
      skip = false;
    }
    for (let nl = data.indexOf(0x0a, start); nl >= 0 && at + start < end; nl = data.indexOf(0x0a, start)) {
      const e = parseCriEntry(data.subarray(start, nl));
      if (e !== null) return { line: at + start, ms: e.ms };
      start = nl + 1;
    }
    // On from the line the probe cut, or past it when it fills the whole probe.
    if (start === 0) skip = true;
    at += start === 0 ? bytesRead : start;
  }
  return null;
}
