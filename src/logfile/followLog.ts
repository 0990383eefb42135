import { TaskioError, abortError, showValue } from '../errors.js';
import type { LogGap } from './heldFiles.js';
import { LogFollower } from './logFollower.js';
import type { LogFormat, LogStreamName } from './options.js';
import { requireAbsolutePath } from './absolutePath.js';

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
  /**
   * Reassembly only: true for a piece of a line longer than the 1 MiB reassembly joins, after the
   * first: the line began in an earlier entry, so a reader that stamps lines does not stamp it.
   */
  continued?: boolean;
}

/** Options of {@link followLog}. */
export interface FollowLogOptions {
  /** How the log is laid out; default `raw` (as the writers default). */
  format?: LogFormat;
  /** CRI only: start with the first entry written at or after this time. */
  since?: Date;
  /**
   * Start with the last `tail` entries (raw: lines) of the log; 0 means only new output. A CRI line
   * cut into `P` entries counts once, and its entries all come (podman's `--tail` rule).
   */
  tail?: number;
  /**
   * Keep reading as the log grows and rotates, until `signal` aborts (default false: stop at the
   * end). A log with no file yet is waited for, and so is its directory while it does not exist (as
   * `tail -F` waits); a file where a directory of the path should be is refused (`ENOTDIR`).
   */
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
   * output that follows what the client sends is never taken for older output. When no file of
   * the log exists yet, the start is the beginning of the first file to come: called at once.
   */
  onStart?: () => void;
  /**
   * CRI only: join `P` entries with their final `F` into one entry per line (the time is the first
   * piece's). A line longer than 1 MiB is still handed out in pieces so memory stays bounded; the
   * pieces after its first are `continued`.
   */
  reassemble?: boolean;
  /**
   * Called when files of the log were removed before the reader read them, in order with the
   * entries: those before the gap were handed out, those after it follow. Only the reader of a log
   * written in this process loses no file this way and can tell when it does: the writer announces
   * each rotation, and the reader keeps the files it has not read yet open, from the moment it begins
   * to look for where it starts (`tail`, `since`) — at most 1024 files, and at most the bytes the set
   * keeps or 16 MiB, whichever is more. Past that bound it lets the oldest go, and this reports them
   * (before the first entry when they were files the start may have been in).
   */
  onGap?: (gap: LogGap) => void;
}

function checkOptions(file: string, opts: FollowLogOptions): LogFormat {
  requireAbsolutePath(file);
  if (typeof opts !== 'object' || opts === null) {
    throw new TaskioError('ERR_INVALID_ARG_TYPE', `followLog options must be an object, got ${showValue(opts)}`);
  }
  const format = opts.format ?? 'raw';
  const bad = (name: string, value: unknown, why: string): TaskioError =>
    new TaskioError('ERR_INVALID_LOG_OPTION', `invalid log option ${name}=${value instanceof Date ? String(value) : showValue(value)}: ${why}`);
  if (format !== 'raw' && format !== 'cri') throw bad('format', format, 'expected raw or cri');
  for (const key of ['follow', 'reassemble'] as const) {
    if (opts[key] !== undefined && typeof opts[key] !== 'boolean') throw bad(key, opts[key], 'expected a boolean');
  }
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal)) throw bad('signal', opts.signal, 'expected an AbortSignal');
  if (opts.until !== undefined && !(opts.until instanceof Promise)) throw bad('until', opts.until, 'expected a Promise');
  for (const key of ['onStart', 'onGap'] as const) {
    if (opts[key] !== undefined && typeof opts[key] !== 'function') throw bad(key, opts[key], 'expected a function');
  }
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
 * Reads a log file set (`name`, `name.1`, … as the writers rotate it) as an async iterator of
 * entries, oldest first. Starts at the last `tail` entries, or at `since`, or at the start of the
 * oldest file; with `follow`, keeps reading what is appended and goes on across rotations —
 * including several rotations that happen while the consumer is slow — yielding each entry exactly
 * once. Rotations are followed by file identity: the file being read stays open after it is renamed,
 * is read to its end, and the next newer file is found by inode. A renamed file is left only once a
 * newer file holds data: an external logrotate renames the live file and the writer appends to the
 * renamed one until its `reopen()`, and those entries are read too. A reader of a log that a writer in
 * this process writes (`openLogWriter`) is told of each rotation before it happens and keeps
 * the files it has not read yet open — also while it looks for its start, so `tail` and `since`
 * count from the log as it was when the reader began — and loses nothing however fast the log
 * rotates, within a bound (`onGap` reports what it let go past it). A reader of a log written by
 * another process that falls behind by more than the set's file count loses the files deleted
 * meanwhile (as kubelet's and docker's readers do), unreported.
 * A file truncated in place (logrotate's `copytruncate`) is noticed once it is shorter than what was
 * read of it, and read again from its start (as `tail -F` does).
 *
 * Only regular files are read: a symlink or FIFO in the set rejects with `ERR_NOT_REGULAR_FILE`
 * (pass `fs.realpath` of a kubelet-style symlinked log). Without `follow`, a line still being
 * joined when the log ends (`reassemble`) is handed out with `partial: true`. A CRI line that is not
 * an entry is skipped, and so is one longer than any entry can be (`maxEntryLine`: 64 MiB of content
 * and 4 KiB for its header) without being kept whole. The states of the reader are those of
 * `LogFollower` (logFollower.ts).
 *
 * Throws `ERR_INVALID_LOG_PATH` for a relative path, `ERR_INVALID_ARG_TYPE` for options that are no
 * object, `ERR_INVALID_LOG_OPTION` for a bad option (a value or a type).
 */
export async function* followLog(file: string, opts: FollowLogOptions = {}): AsyncGenerator<LogEntry, void, undefined> {
  for await (const batch of followLogBatches(file, opts)) yield* batch;
}

/**
 * {@link followLog} in batches: the entries of one read at a time (up to a few thousand short
 * lines), for a consumer that sends them on and would otherwise pay a write per entry.
 */
export async function* followLogBatches(file: string, opts: FollowLogOptions = {}): AsyncGenerator<LogEntry[], void, undefined> {
  const format = checkOptions(file, opts);
  if (opts.signal?.aborted) throw abortError(opts.signal);
  const follower = new LogFollower(file, format, opts);
  try {
    for (let batch = await follower.next(); batch !== null; batch = await follower.next()) if (batch.length > 0) yield batch;
  } finally {
    await follower.close();
  }
}
