import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TaskioError, abortError } from '../errors.js';
import { parseCriEntry } from './criParse.js';
import { indexIn, openExpected, snapshotLogFiles, type LogFileInfo, type OpenLogFile } from './logFileSet.js';
import type { LogFormat, LogStreamName } from './options.js';
import { requireAbsolutePath } from './absolutePath.js';

const read = promisify(fs.read), close = promisify(fs.close);

/** One thing read from a log: a CRI entry, or a chunk of a raw log. */
export interface LogEntry {
  /** When the entry was written (CRI), or when the chunk was read (raw logs carry no times). */
  time: Date;
  /** The exact CRI timestamp text (nanoseconds, sortable); empty for raw chunks. */
  timestamp: string;
  /** The stream the entry came from; null for raw chunks (a raw log mixes both). */
  stream: LogStreamName | null;
  /** True for a CRI `P` entry (the line goes on in the next entry of its stream). */
  partial: boolean;
  /** The bytes, exactly as the task wrote them, without the line's newline. */
  content: Buffer;
}

/** Options of {@link followLog}. */
export interface FollowLogOptions {
  /** How the log is laid out; default `raw` (as the writers default). */
  format?: LogFormat;
  /** CRI only: start with the first entry written at or after this time. */
  since?: Date;
  /** Start with the last `tail` entries (raw: lines) of the log; 0 means only new output. */
  tail?: number;
  /** Keep reading as the log grows and rotates, until `signal` aborts (default false: stop at the end). */
  follow?: boolean;
  /** Ends the iteration: the iterator rejects with an `AbortError`. */
  signal?: AbortSignal;
  /**
   * With `follow`: the writer is done once this settles (the task exited and its output is all in
   * the log); the reader then reads to the end of the log and stops instead of waiting for more.
   */
  until?: Promise<unknown>;
  /**
   * Called once the reader knows where it starts (`tail`, `since`, or the start): everything
   * written to the log after this call is read. An attach answers its client only then, so the
   * output that follows what the client sends is never taken for older output.
   */
  onStart?: () => void;
  /**
   * CRI only: join `P` entries with their final `F` into one entry per line (the time is the first
   * piece's). A line longer than 1 MiB is still handed out in pieces so memory stays bounded.
   */
  reassemble?: boolean;
}

const readSize = 256 * 1024;
const maxReassembled = 1 << 20;
const pollMs = 1000;

/** Waits for a change in the log's directory (inotify through fs.watch, with a slow poll behind it). */
class ChangeWaiter {
  private dirty = false;
  private wake: (() => void) | null = null;
  private readonly watcher: fs.FSWatcher;

  constructor(dir: string, base: string) {
    // Not persistent: a consumer that stops pulling must not keep the process alive; while a
    // wait is pending its poll timer does.
    this.watcher = fs.watch(dir, { persistent: false }, (_ev, name) => {
      if (name === null || name.startsWith(base)) this.fire();
    });
    // A watch can fail later (the directory removed); the poll keeps the follower going.
    this.watcher.on('error', () => undefined);
  }

  private fire(): void {
    this.dirty = true;
    this.wake?.();
  }

  async wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError(signal);
    if (!this.dirty) {
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      try {
        await new Promise<void>((resolve, reject) => {
          this.wake = resolve;
          timer = setTimeout(resolve, pollMs);
          onAbort = () => reject(abortError(signal));
          signal?.addEventListener('abort', onAbort, { once: true });
        });
      } finally {
        this.wake = null;
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      }
    }
    this.dirty = false;
  }

  close(): void {
    this.watcher.close();
  }
}

/** Where reading starts: a file of the set and a byte offset in it. */
interface Start {
  file: OpenLogFile;
  offset: number;
}

function checkOptions(file: string, opts: FollowLogOptions): LogFormat {
  const format = opts.format ?? 'raw';
  const bad = (name: string, value: unknown, why: string): TaskioError =>
    new TaskioError('ERR_INVALID_LOG_OPTION', `invalid log option ${name}=${String(value)}: ${why}`);
  requireAbsolutePath(file);
  if (format !== 'raw' && format !== 'cri') throw bad('format', format, 'expected raw or cri');
  if (opts.tail !== undefined && (!Number.isSafeInteger(opts.tail) || opts.tail < 0)) {
    throw bad('tail', opts.tail, 'expected a whole number ≥ 0');
  }
  if (opts.since !== undefined) {
    if (!(opts.since instanceof Date) || Number.isNaN(opts.since.getTime())) throw bad('since', opts.since, 'expected a valid Date');
    if (format === 'raw') throw bad('since', opts.since.toISOString(), 'needs format cri (raw logs carry no times)');
  }
  if (opts.reassemble && format === 'raw') throw bad('reassemble', true, 'needs format cri');
  return format;
}

/**
 * Counts entries back from the end of the set (newest file first) and opens the file where the last
 * `tail` of them begin. An entry is a line: the last newline ends the last entry, and bytes after it
 * are an entry still being written, not counted.
 */
async function findTail(snap: (LogFileInfo | null)[], tail: number): Promise<Start | null> {
  const buf = Buffer.allocUnsafe(64 * 1024);
  let need = tail + 1; // newlines to pass: the one ending the last entry, then one before each entry
  let oldest: OpenLogFile | null = null;
  for (const info of snap) {
    if (info === null) continue;
    const file = await openExpected(info);
    if (oldest) await close(oldest.fd);
    if (file === null) return null; // a rotation moved it meanwhile: the caller looks again
    oldest = file;
    let end = file.size;
    // Entries do not cross files, so the last byte of an older file ends its last entry.
    while (end > 0) {
      const n = Math.min(buf.length, end);
      const { bytesRead } = await read(file.fd, buf, 0, n, end - n);
      for (let i = bytesRead - 1; i >= 0; i--) {
        if (buf[i] === 0x0a && --need === 0) return { file, offset: end - n + i + 1 };
      }
      end -= n;
    }
    // Every entry of this file is wanted; `need` is now one more than the entries still wanted,
    // which is right for the older file: its last newline ends its last entry.
  }
  return oldest ? { file: oldest, offset: 0 } : null;
}

/** Opens the oldest file of the set that may hold entries at or after `since` (by mtime). */
async function findStart(snap: (LogFileInfo | null)[], since: Date | undefined): Promise<Start | null> {
  const files = snap.filter((x): x is LogFileInfo => x !== null).reverse();
  // A file last modified before `since` holds only older entries: each entry is stamped before it is written.
  const first = files.find((f) => since === undefined || f.mtimeMs >= since.getTime()) ?? files[files.length - 1];
  if (!first) return null;
  const file = await openExpected(first);
  return file ? { file, offset: 0 } : null;
}

async function findEnd(snap: (LogFileInfo | null)[], format: LogFormat): Promise<Start | null> {
  // CRI: begin after the last whole entry, so an entry being written now counts as new output.
  if (format === 'cri') return findTail(snap, 0);
  const live = snap[0];
  const file = live ? await openExpected(live) : null;
  return file ? { file, offset: file.size } : null;
}

/** Whether a file newer than the one at `k` (-1: gone from the set, so all are newer) holds data. */
function newerHasData(snap: (LogFileInfo | null)[], k: number): boolean {
  const newer = k < 0 ? snap : snap.slice(0, k);
  return newer.some((x) => x !== null && x.size > 0);
}

/**
 * Reads a log file set (`name`, `name.1`, … as the writers rotate it) as an async iterator of
 * entries, oldest first. Starts at the last `tail` entries, or at `since`, or at the start of the
 * oldest file; with `follow`, keeps reading what is appended and goes on across rotations —
 * including several rotations that happen while the consumer is slow — yielding each entry exactly
 * once. Rotations are followed by file identity: the file being read stays open after it is renamed,
 * is read to its end, and the next newer file is found by inode. A renamed file is left only once a
 * newer file holds data: an external logrotate renames the live file and the writer appends to the
 * renamed one until its `reopen()`, and those entries are read too. A reader that falls behind by more
 * than the set's file count loses the files deleted meanwhile (as kubelet's and docker's readers do).
 *
 * Throws `ERR_INVALID_LOG_PATH` for a relative path, `ERR_INVALID_LOG_OPTION` for a bad option.
 */
export async function* followLog(file: string, opts: FollowLogOptions = {}): AsyncGenerator<LogEntry, void, undefined> {
  const format = checkOptions(file, opts);
  const { signal, since } = opts;
  const follow = opts.follow ?? false;
  const sinceMs = since?.getTime();
  const waiter = follow ? new ChangeWaiter(path.dirname(file), path.basename(file)) : null;
  // An abort while the consumer is not pulling still releases the watch at once.
  const onAbort = (): void => waiter?.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  const buf = Buffer.allocUnsafe(readSize);
  let cur: Start | null = null;
  let rest: Buffer = Buffer.alloc(0);
  const joining = new Map<LogStreamName, { first: LogEntry; parts: Buffer[]; bytes: number }>();

  // `until`: once it settled, one more pass reads what the writer wrote last, then the end is final.
  let writerDone = false, lastPass = false;
  opts.until?.then(() => { writerDone = true; }, () => { writerDone = true; });
  const waitForChange = async (): Promise<boolean> => {
    if (!waiter || lastPass) return false;
    if (writerDone) return (lastPass = true);
    await Promise.race([waiter.wait(signal), opts.until?.catch(() => undefined)].filter(Boolean));
    return true;
  };

  // Turns complete lines into entries, applying since and reassembly.
  function* entriesOf(lines: Buffer, final: boolean): Generator<LogEntry> {
    if (format === 'raw') {
      if (lines.length > 0) yield { time: new Date(), timestamp: '', stream: null, partial: false, content: Buffer.from(lines) };
      return;
    }
    let pos = 0;
    for (;;) {
      let nl = lines.indexOf(0x0a, pos);
      if (nl < 0) {
        if (!final || pos >= lines.length) break;
        nl = lines.length; // a file that ended without its last newline (a crash mid-entry)
      }
      const e = parseCriEntry(lines.subarray(pos, nl));
      pos = nl + 1;
      if (!e || (sinceMs !== undefined && e.ms < sinceMs)) continue;
      const entry: LogEntry = { time: new Date(e.ms), timestamp: e.timestamp, stream: e.stream, partial: e.partial, content: e.content };
      if (!opts.reassemble) {
        yield entry;
        continue;
      }
      const j = joining.get(e.stream);
      if (!j && !e.partial) {
        yield entry;
      } else if (!j) {
        joining.set(e.stream, { first: entry, parts: [e.content], bytes: e.content.length });
      } else {
        j.parts.push(e.content);
        j.bytes += e.content.length;
        if (!e.partial || j.bytes >= maxReassembled) {
          joining.delete(e.stream);
          yield { ...j.first, partial: e.partial, content: Buffer.concat(j.parts) };
        }
      }
    }
  }

  // Reads `cur` from its offset to the current end, yielding whole entries; keeps an unfinished tail.
  async function* readToEnd(): AsyncGenerator<LogEntry> {
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const { bytesRead } = await read(cur!.file.fd, buf, 0, buf.length, cur!.offset);
      if (bytesRead === 0) return;
      cur!.offset += bytesRead;
      let data: Buffer = buf.subarray(0, bytesRead);
      if (format === 'raw') {
        yield* entriesOf(data, false);
        continue;
      }
      if (rest.length > 0) data = Buffer.concat([rest, data]);
      const last = data.lastIndexOf(0x0a);
      // Copy the unfinished tail: `buf` is reused by the next read.
      rest = Buffer.from(data.subarray(last + 1));
      if (last >= 0) yield* entriesOf(data.subarray(0, last + 1), false);
    }
  }

  async function openNext(from: OpenLogFile): Promise<OpenLogFile | null> {
    for (;;) {
      const snap = await snapshotLogFiles(file);
      const k = indexIn(snap, from);
      // Gone from the set: it rotated out while read, so every file still there is newer.
      const target = k < 0 ? [...snap].reverse().find((x) => x !== null) : snap[k - 1];
      if (!target) return null;
      const next = await openExpected(target);
      if (next) return next;
    }
  }

  try {
    if (signal?.aborted) throw abortError(signal);
    for (;;) {
      const snap = await snapshotLogFiles(file);
      if (opts.tail === 0) cur = await findEnd(snap, format);
      else if (opts.tail !== undefined) cur = await findTail(snap, opts.tail);
      else cur = await findStart(snap, since);
      if (cur) break;
      if (snap.every((x) => x === null) && !(await waitForChange())) return;
    }
    opts.onStart?.();
    for (;;) {
      yield* readToEnd();
      const snap = await snapshotLogFiles(file);
      const k = indexIn(snap, cur.file);
      // Renamed by an external logrotate, the file still takes the writer's output until the
      // writer's reopen(); once a newer file holds data the writer has moved on (it writes in
      // order), so only then is the renamed file complete. Until then it is the one to follow.
      if (k === 0 || (follow && !newerHasData(snap, k))) {
        if (!(await waitForChange())) return;
        continue;
      }
      // Renamed (or deleted) and the writer writes to a newer file: read what came after our
      // last read, finish a dangling entry, then go on with the next newer file.
      yield* readToEnd();
      yield* entriesOf(rest, true);
      rest = Buffer.alloc(0);
      let next = await openNext(cur.file);
      while (next === null) {
        if (!(await waitForChange())) return;
        next = await openNext(cur.file);
      }
      await close(cur.file.fd);
      cur = { file: next, offset: 0 };
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    waiter?.close();
    if (cur) await close(cur.file.fd).catch(() => undefined);
  }
}
