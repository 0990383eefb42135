import fs from 'node:fs';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { TaskioError } from '../errors.js';
import { abortable } from '../abortable.js';
import { refuseUnstarted } from './unstarted.js';
import { refuseLoggingDriver } from './attachable.js';
import type { IO } from '../attach/index.js';
import { FifoWriter } from '../fifo/index.js';
import { attachFifoSet, fifoOutputEnd } from './fifoAttach.js';
import { DetachScanner } from './detachKeys.js';
import { openLog, type LogSource, type OpenedLog } from './logStream.js';
import { StreamType, framedSink } from './stdcopy.js';
import type { DaemonTask } from './task.js';

/** What an attach asks for (the query of `POST /tasks/:id/attach`). */
export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Log mode: replay the whole log first, then follow. */
  logs: boolean;
  /** The detach sequence (empty: none). */
  detachKeys: Buffer;
  /** When the client's input ends, the task's stdin ends (docker's `StdinOnce`). */
  stdinOnce: boolean;
}

/** The client's side of an attach: where output goes, and its input when it can send any. */
export interface AttachConnection {
  output: Writable;
  input: Readable | null;
  /**
   * Whether the client has ended its input, though not all of it may have been read yet (a
   * half-closed connection). Default: once `input` ended.
   */
  inputShut?: () => boolean;
  signal: AbortSignal;
  /** `output` is left open once the session is over: the caller sends more, then ends it. */
  leaveOpen?: boolean;
}

/** How an attach session ended: all of the output was sent, or it was stopped first (a detach, the client gone). */
export type AttachOutcome = 'complete' | 'stopped';

/** An attach ready to run (checks done, FIFO set locked): the caller answers the request, then runs it. */
export interface AttachSession {
  /** Copies until the output is complete, the client detaches or goes away. */
  run(): Promise<AttachOutcome>;
}

/**
 * The log of an attach opened before its task starts (create-and-attach: the task's output from its
 * very start is what the client wants), so that finding where the log starts overlaps the
 * runtime's start instead of delaying the client's answer after it. Handed to {@link prepareAttach},
 * or cancelled when the create fails.
 */
export interface EarlyLog {
  readonly opened: Promise<OpenedLog>;
  /** Stops the reader and lets go of the file (also once it is being pumped: that ends the pump). */
  cancel(): void;
}

/**
 * Opens `source`'s log for the attach `opts` asks for, from its start (`fromEnd`: from its end as
 * the reader finds it); null when no output is asked.
 */
export function openEarlyLog(source: LogSource, opts: AttachOptions, fromEnd = false): EarlyLog | null {
  if (!opts.stdout && !opts.stderr) return null;
  const stop = new AbortController();
  const opened = openLog(source, { follow: true, ...(fromEnd ? { tail: 0 } : {}), timestamps: false, stdout: opts.stdout, stderr: opts.stderr, signal: stop.signal });
  opened.catch(() => undefined); // awaited by prepareAttach, or cancelled
  return {
    opened,
    cancel: () => {
      stop.abort();
      void opened.then((log) => log.close(), () => undefined);
    },
  };
}

/**
 * The log of a task's run about to start (`start -a`), opened where that run's output begins: at
 * the log's end when earlier runs wrote one — the start waits for `ready`, so none of this run's
 * output is in it yet — else at its start (all of it is this run's).
 */
export function openRunLog(source: LogSource, opts: AttachOptions): { early: EarlyLog | null; ready: Promise<void> } {
  const earlier = source.record.logPath !== null && fs.existsSync(source.record.logPath);
  const early = openEarlyLog(source, opts, earlier);
  return { early, ready: earlier && early ? early.opened.then(() => undefined, () => undefined) : Promise.resolve() };
}

/**
 * Prepares an attach. Log mode: stdin into the task's stdin FIFO, and the log followed from now
 * (any number of viewers, none slows the task). FIFO mode (`log: none`): the cio attach on the
 * task's FIFO set, relayed — one reader at a time (`EBUSY` names the holder).
 * `early`: the log, opened before the task started ({@link openEarlyLog}); the session owns it from here.
 * @throws TaskioError before anything is sent: `EBUSY`, `ERR_NOT_ATTACHABLE`, `ERR_INVALID_STATE` (a created task).
 */
export async function prepareAttach(task: DaemonTask, opts: AttachOptions, conn: AttachConnection, early: EarlyLog | null = null): Promise<AttachSession> {
  const { record } = task;
  refuseUnstarted({ id: task.id, status: task.state });
  refuseLoggingDriver(task.id, record.log, record.logPath);
  const raw = record.terminal;
  const scanner = conn.input && opts.stdin ? new DetachScanner(opts.detachKeys) : null;
  let detachedByKeys = false;
  scanner?.once('detach', () => { detachedByKeys = true; });
  const detached = scanner ? once(scanner, 'detach').then(() => undefined) : new Promise<void>(() => undefined);
  // Detaching, or the client leaving, ends the attach and nothing else: the task's stdin stays open.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  conn.signal.addEventListener('abort', onAbort, { once: true });
  // A client gone before this (it closed while its task was made) fires no 'abort' any more.
  if (conn.signal.aborted) stop.abort();
  void detached.then(() => stop.abort());
  // The task's exit, as this attach waits for it: let go once it is over. A reaction of each attach
  // on the exit itself stayed until the task exited, many short attaches of a long task growing the daemon.
  const over = new AbortController();
  const exited = (): Promise<unknown> => abortable(task.exited, over.signal);
  const finish = (): void => {
    over.abort();
    conn.signal.removeEventListener('abort', onAbort);
    if (scanner) conn.input?.unpipe(scanner);
    scanner?.destroy();
    if (!conn.leaveOpen && !conn.output.destroyed) conn.output.end();
  };
  const outcome = (): AttachOutcome => (stop.signal.aborted ? 'stopped' : 'complete');
  const wantsStdin = scanner !== null && record.stdio.stdin !== '' && task.view().stdinOpen;

  if (record.log === 'none') {
    let io: IO;
    try {
      io = await attachFifoSet(task.view(), wantsStdin ? scanner : null,
        opts.stdout ? framedSink(conn.output, StreamType.Stdout, raw) : null,
        opts.stderr && !raw ? framedSink(conn.output, StreamType.Stderr, raw) : null);
    } catch (err) {
      finish();
      throw err;
    }
    return {
      async run() {
        if (scanner) conn.input!.pipe(scanner);
        if (scanner && !wantsStdin) scanner.resume(); // dropped, but detach keys still work
        if (wantsStdin && opts.stdinOnce) conn.input!.once('end', () => void task.closeStdin().catch(() => undefined));
        const outputs = opts.stdout || opts.stderr ? fifoOutputEnd(task.view(), io, exited()) : exited().then(() => undefined);
        await Promise.race([outputs, once(stop.signal, 'abort')]);
        io.cancel();
        finish();
        return outcome();
      },
    };
  }

  // The attach moment: the log's end now (or the task's start, opened early), fixed before the client is answered.
  let log: OpenedLog | null = null;
  if (early) {
    if (stop.signal.aborted) early.cancel();
    else stop.signal.addEventListener('abort', () => early.cancel(), { once: true });
    log = await early.opened;
  } else if (opts.stdout || opts.stderr) {
    log = await openLog(task, {
      follow: true, ...(opts.logs ? {} : { tail: 0 }), timestamps: false, stdout: opts.stdout, stderr: opts.stderr, signal: stop.signal,
    });
  }
  return {
    async run() {
      let stdin: FifoWriter | null = null;
      let unregister = (): void => undefined;
      if (scanner) {
        conn.input!.pipe(scanner);
        if (wantsStdin) {
          stdin = new FifoWriter(record.stdio.stdin, { signal: stop.signal });
          unregister = task.addStdinWriter(stdin, conn.inputShut ?? (() => conn.input!.readableEnded));
          stdin.on('error', () => scanner.unpipe(stdin!));
          scanner.pipe(stdin, { end: false });
          // The connection's input is over (the client half-closed it, detached or went away): this
          // writer lets go of the FIFO once all of it is in, so that once stdin is closed (here for
          // StdinOnce, unless the keys detached; else by a close-stdin call) the task reads EOF
          // after the last byte instead of waiting for this attach to end.
          scanner.once('end', () => {
            stdin?.end(() => { if (opts.stdinOnce && !detachedByKeys) void task.closeStdin().catch(() => undefined); });
          });
        } else {
          scanner.resume(); // read and drop: the task has no stdin, but detach keys still work
        }
      }
      try {
        if (log) {
          await log.pump(conn.output);
        } else {
          await Promise.race([exited(), once(stop.signal, 'abort')]);
        }
      } catch (err) {
        if ((err as Error).name !== 'AbortError') throw err;
      } finally {
        // However the pump ended (a client gone mid-write fails it with EPIPE, not an abort), the
        // reader lets go of the log file: a generator left suspended would hold it for ever.
        void log?.close();
        if (stdin) {
          unregister();
          scanner?.unpipe(stdin);
          // What was typed before a detach still goes in; then the writer lets go of the FIFO. A
          // client gone takes what the task has not read yet with it: ended, a writer whose task
          // never reads again held its FIFO open in the daemon until the task was removed.
          if (conn.signal.aborted) stdin.destroy();
          else stdin.end();
        }
        finish();
      }
      return outcome();
    },
  };
}
