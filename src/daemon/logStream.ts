import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { followLogBatches, type LogEntry, type LogGap } from '../logfile/index.js';
import type { TaskRecord } from './records.js';
import { parseCriTime } from '../logfile/criTime.js';
import { nsToMs } from './apiTime.js';
import { clockPasses } from './clockPasses.js';
import { abortable } from '../abortable.js';
import { StreamType, frameHeader, frameHeaderSize, writeFrameHeader } from './stdcopy.js';

/** What of a task's log to stream, and how. */
export interface LogStreamOptions {
  follow: boolean;
  /** Last N entries (lines); undefined: the whole log; 0: only what comes next (attach). */
  tail?: number;
  /** CRI only: entries written at or after this time, in nanoseconds since the epoch (docker's `since`). */
  since?: bigint;
  /**
   * CRI only: entries written at or before this time, in nanoseconds since the epoch (docker's
   * `until`). The stream ends at the first later entry; a follow also ends once the clock has passed it.
   */
  until?: bigint;
  timestamps: boolean;
  /**
   * CRI only: docker's `details`: each line after its log's attributes and a space. docker's are the
   * `labels`, `env` and `tag` options of its log driver; a task's log takes none, so the space alone.
   */
  details?: boolean;
  stdout: boolean;
  stderr: boolean;
  signal: AbortSignal;
}

/** What {@link openLog} reads: a task's log, and when the task's output is complete (a `DaemonTask` is one). */
export interface LogSource {
  readonly record: Pick<TaskRecord, 'logPath' | 'logFormat' | 'terminal'>;
  readonly outputDone: Promise<void>;
}

/** A task's log opened for streaming: where it starts is fixed; {@link pump} sends it. */
export interface OpenedLog {
  /** Sends the entries into `out` until the end (with `follow`: until the task's output is complete). */
  pump(out: Writable): Promise<void>;
  /** Lets go of the log file of a stream that will not be pumped (or no longer): its reader is closed. */
  close(): Promise<void>;
}

/**
 * Opens a task's log for streaming and resolves once the reader knows where it starts (for
 * `tail: 0`, the end of the log now), so output that follows this call is never missed.
 *
 * The bytes streamed are those the task wrote (CRI entries decoded back: a `P` entry adds no
 * newline), framed per stream for a non-terminal task (Docker's multiplexed format) or raw for a
 * terminal. A slow `out` slows only this stream: the log is a file. The daemon writes the log, so
 * the reader keeps each rotated file it has not read yet; one that falls so far behind that it lets
 * some go gets a line where they were (docker's `Error grabbing logs: …`, in a `systemerr` frame,
 * or in the raw stream of a terminal, as docker writes it) and goes on.
 */
export async function openLog(task: LogSource, opts: LogStreamOptions): Promise<OpenedLog> {
  const { logPath, logFormat, terminal } = task.record;
  if (logPath === null || logFormat === null) return { pump: async () => undefined, close: async () => undefined };
  let onStart!: () => void;
  const started = new Promise<void>((resolve) => { onStart = resolve; });
  // The reader and the clock work in milliseconds; the entries of the millisecond of `since` or
  // `until` are compared to the nanosecond (their CRI times have nanoseconds, as docker's).
  const from = opts.since === undefined ? undefined : nsToMs(opts.since);
  const upTo = opts.until === undefined ? undefined : nsToMs(opts.until);
  const passed = upTo === undefined ? null : clockPasses(upTo);
  // Let go at close: a race of its own on the task's end stayed on it until the task exited.
  const released = new AbortController();
  // Reported between two batches: sent ahead of the next one, so it stands where the output is missing.
  const gaps: LogGap[] = [];
  const batches = followLogBatches(logPath, {
    format: logFormat, follow: opts.follow, signal: opts.signal, onStart, onGap: (gap) => gaps.push(gap),
    // Past `until` nothing more can come: the reader reads to the end of the log and stops.
    until: passed ? Promise.race([abortable(task.outputDone, released.signal), passed.reached]) : task.outputDone,
    ...(opts.tail !== undefined ? { tail: opts.tail } : {}), ...(from !== undefined ? { since: new Date(from) } : {}),
    // Timestamps and details are per line, as docker prints them.
    ...((opts.timestamps || opts.details === true) && logFormat === 'cri' ? { reassemble: true } : {}),
  });
  const first = batches.next();
  // A log that ends before it started still settles here. One that cannot be read at all (gone,
  // or replaced by a symlink or FIFO) rejects here, while the request can still be answered with
  // its error; once pumping, a 200 has gone out and only the daemon's log could tell.
  const failed = await Promise.race([started.then(() => null), first.then(() => null, (err: unknown) => ({ err }))]);
  if (failed) {
    passed?.cancel();
    released.abort();
    throw failed.err;
  }
  return {
    async pump(out) {
      try {
        await send(out);
      } finally {
        await close();
      }
    },
    close,
  };

  /**
   * Lets go of the reader: its generator is returned, which closes its files. An aborted signal
   * reaches a reader only while it is pulled; one that waits at its first entry, or at a yield while
   * the pump waits for `out` to drain (a client that stopped reading, then went away), is never
   * pulled again and would keep its file, and the rotated files it holds, until the daemon exits.
   */
  async function close(): Promise<void> {
    passed?.cancel();
    released.abort();
    await batches.return(undefined).catch(() => undefined);
  }

  /**
   * Writes each batch of entries (one read of the log) as one buffer, each entry framed into it in
   * place: a write per entry made a syscall per line, and a buffer or two per entry were most of
   * what the garbage collector had to do (2 M short lines took the daemon 17, then 5 CPU-s to send).
   */
  async function send(out: Writable): Promise<void> {
    const kept: LogEntry[] = [];
    const prefix: LinePrefix = { timestamps: opts.timestamps, details: opts.details === true };
    for (let r = await first; !r.done; r = await batches.next()) {
      // Output the reader lost before this batch: the line goes where it is missing.
      for (const gap of gaps.splice(0)) if (!out.write(gapNotice(gap, terminal))) await once(out, 'drain', { signal: opts.signal });
      let ended = false;
      let size = 0;
      kept.length = 0;
      for (const e of r.value) {
        const ms = e.time.getTime();
        if (upTo !== undefined && (ms > upTo || (ms === upTo && entryNs(e) > opts.until!))) {
          // Entries come in the order they were written: none after this one is older.
          ended = true;
          break;
        }
        if (ms === from && entryNs(e) < opts.since!) continue;
        if (e.stream === 'stderr' ? !opts.stderr : !opts.stdout) continue;
        kept.push(e);
        size += (terminal ? 0 : frameHeaderSize) + payloadSize(e, prefix);
      }
      if (kept.length > 0) {
        const batch = Buffer.allocUnsafe(size);
        let at = 0;
        for (const e of kept) at = encodeEntry(batch, at, e, prefix, terminal);
        kept.length = 0; // the entries' buffers go with the batch
        if (!out.write(batch)) await once(out, 'drain', { signal: opts.signal });
      }
      if (ended) {
        await batches.return(undefined);
        return;
      }
    }
  }
}

/** A CRI entry's time in nanoseconds since the epoch (its timestamp was parsed once already, so it is one). */
const entryNs = (e: LogEntry): bigint => parseCriTime(e.timestamp)!.ns;

/** Whether an entry's line ends with it (a newline to add): a CRI `F` entry. */
const endsLine = (e: LogEntry): boolean => !e.partial && e.stream !== null;

/** What goes before each line of a CRI log: its time and a space, its (empty) attributes and a space. */
interface LinePrefix {
  timestamps: boolean;
  details: boolean;
}

/** Whether `e` starts a line of a CRI log (not the rest of a line of more than 1 MiB), the place of a line's prefix. */
const startsLine = (e: LogEntry): boolean => e.timestamp !== '' && e.continued !== true;

/** The bytes an entry sends: its line's prefix (asked for, CRI), its content, its newline. */
function payloadSize(e: LogEntry, prefix: LinePrefix): number {
  const head = !startsLine(e) ? 0 : (prefix.timestamps ? e.timestamp.length + 1 : 0) + (prefix.details ? 1 : 0);
  return head + e.content.length + (endsLine(e) ? 1 : 0);
}

/** The line for output the reader lost (docker's wording for an error of a log stream), framed unless `raw`. */
function gapNotice(gap: LogGap, raw: boolean): Buffer {
  const text = Buffer.from(`Error grabbing logs: ${gap.files} rotated log file(s), ${gap.bytes} bytes, were removed before this reader reached them (it fell too far behind)\n`);
  return raw ? text : Buffer.concat([frameHeader(StreamType.Systemerr, text.length), text]);
}

/** Writes entry `e` into `batch` at `at`, behind its frame header unless `raw`; returns where it ends. */
function encodeEntry(batch: Buffer, at: number, e: LogEntry, prefix: LinePrefix, raw: boolean): number {
  if (!raw) at = writeFrameHeader(batch, at, e.stream === 'stderr' ? StreamType.Stderr : StreamType.Stdout, payloadSize(e, prefix));
  if (startsLine(e)) {
    if (prefix.timestamps) {
      at += batch.write(e.timestamp, at, 'latin1');
      batch[at++] = 0x20;
    }
    // docker's attributes of the line (none here), then a space.
    if (prefix.details) batch[at++] = 0x20;
  }
  at += e.content.copy(batch, at);
  if (endsLine(e)) batch[at++] = 0x0a;
  return at;
}
