import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { TaskioError, showValue } from '../errors.js';
import { checkPath, type Config } from '../fifo/index.js';
import { runtimeDir } from '../privateDir.js';

/** The caller's side of a task's stdio: what to feed its stdin and where its output goes. */
export interface Streams {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  terminal?: boolean;
  /** Where FIFO sets are made (default {@link defaultFIFODir}). */
  fifoDir?: string;
  /** Runs once `stdin` was written whole into the FIFO and the FIFO writer closed ({@link withStdinClose}). */
  stdinClose?: () => unknown;
  /** Whether a stream that brings bulk output is read in bursts (default true; {@link withCoalescing}). */
  coalesce?: boolean;
}

/** An option of {@link newCreator} / {@link newAttach}: it edits the {@link Streams}. */
export type Opt = (s: Streams) => void;

/** The client side of a task's stdio, containerd's `cio.IO`. */
export interface IO {
  /** The paths (or URIs) the task host must open. */
  config(): Config;
  /** Stops pending opens and copying; idempotent, never throws. */
  cancel(): void;
  /** Resolves when stdout and stderr reached EOF (and were written out) or were cancelled. */
  wait(): Promise<void>;
  /** Closes everything and removes the FIFO directory the IO made; idempotent. */
  close(): Promise<void>;
}

/** Makes a new IO for a task id (containerd's `cio.Creator`). */
export type Creator = (id: string) => Promise<IO>;
/** Attaches an IO to an existing FIFO set (containerd's `cio.Attach`). */
export type Attach = (set: import('../fifo/index.js').FIFOSet) => Promise<IO>;

/**
 * The default FIFO directory: `/run/taskio/fifo` for root, else `$XDG_RUNTIME_DIR/taskio/fifo`, or
 * without that variable `<tmpdir>/taskio-<uid>/fifo` (tmux's `/tmp/tmux-<uid>`). It is created 0700
 * on first use and checked, with every directory from `taskio`/`taskio-<uid>` down, before a FIFO
 * set is made in it (`ERR_UNSAFE_DIR` when another user could control one of them).
 */
export function defaultFIFODir(): string {
  return path.join(runtimeDir(), 'fifo');
}

/** Uses this process's own stdin, stdout and stderr. */
export const withStdio: Opt = (s) => {
  notCalled(s, 'withStdio');
  s.stdin = process.stdin;
  s.stdout = process.stdout;
  s.stderr = process.stderr;
};

/** Terminal mode: one output stream, no stderr FIFO. */
export const withTerminal: Opt = (s) => {
  notCalled(s, 'withTerminal');
  s.terminal = true;
};

/**
 * `withTerminal()` for `withTerminal`: the option is the function, and calling it without streams
 * failed with an untyped "Cannot set properties of undefined".
 */
function notCalled(s: Streams | undefined, name: string): void {
  if (s === undefined) throw new TaskioError('ERR_INVALID_ARG_TYPE', `${name} is an option itself: pass ${name}, not ${name}()`);
}

/**
 * What the copies call on the caller's streams, checked before anything is made: a wrong value
 * would otherwise fail inside the copy — once the FIFOs exist, or at a detach, where a stdin
 * without `unpipe` threw out of the event loop and ended the process.
 */
const streamMethods = { stdin: ['pipe', 'unpipe', 'on'], stdout: ['write', 'on'], stderr: ['write', 'on'] } as const;

/**
 * Checks the streams of `s`: each `undefined`, or a stream with the methods the copy calls.
 * @throws TaskioError `ERR_INVALID_ARG_TYPE` naming the stream and the value.
 */
function checkStreams(s: Pick<Streams, 'stdin' | 'stdout' | 'stderr'>): void {
  for (const [name, methods] of Object.entries(streamMethods)) {
    const v = s[name as keyof typeof streamMethods] as unknown;
    if (v === undefined || (typeof v === 'object' && v !== null && methods.every((m) => typeof (v as Record<string, unknown>)[m] === 'function'))) continue;
    const kind = name === 'stdin' ? 'a Readable' : 'a Writable';
    throw new TaskioError('ERR_INVALID_ARG_TYPE', `${name} must be ${kind} stream (with ${methods.join(', ')}), null or undefined, got ${showValue(v)}`);
  }
}

/**
 * Checks that the streams of `s` can still carry data: an output already ended or destroyed would
 * take the task's output and drop it (its writes fail in the copy, after the task ran), and a stdin
 * destroyed before its end never ends, so the task's stdin would never close. A stdin that has
 * ended is fine (destroyed after it by `autoDestroy` too): the task reads EOF. Streams that do not
 * say (`destroyed`, `writableEnded` not `true`) pass.
 * Run where the streams are given and again each time an IO is made from them.
 * @throws TaskioError `ERR_INVALID_ARG_VALUE` naming the stream.
 */
export function checkStreamsOpen(s: Pick<Streams, 'stdin' | 'stdout' | 'stderr'>): void {
  for (const name of ['stdin', 'stdout', 'stderr'] as const) {
    const v = s[name] as { destroyed?: unknown; writableEnded?: unknown; readableEnded?: unknown } | undefined;
    const why = name === 'stdin'
      ? (v?.destroyed === true && v.readableEnded !== true ? 'destroyed' : null)
      : (v?.destroyed === true ? 'destroyed' : v?.writableEnded === true ? 'ended' : null);
    if (why !== null) throw new TaskioError('ERR_INVALID_ARG_VALUE', `${name} stream is already ${why}: ${name === 'stdin' ? "the task's stdin would never end" : "the task's output would be dropped"}`);
  }
}

/**
 * Uses the given streams; a stream left out (or `null`) gets a blank path and no FIFO.
 * @throws TaskioError `ERR_INVALID_ARG_TYPE` naming a stdin that is not a `Readable` or an
 *   output that is not a `Writable`; `ERR_INVALID_ARG_VALUE` naming one already destroyed, or an
 *   output already ended (checked again when an IO is made).
 */
export function withStreams(stdin?: Readable | null, stdout?: Writable | null, stderr?: Writable | null): Opt {
  const given = { stdin: stdin ?? undefined, stdout: stdout ?? undefined, stderr: stderr ?? undefined };
  checkStreams(given);
  checkStreamsOpen(given);
  return (s) => {
    Object.assign(s, given);
  };
}

/**
 * Makes FIFO sets inside `dir` instead of the default. A relative `dir` is taken from the cwd when
 * a set is made; the set's paths are absolute, as the task host that opens them has its own cwd.
 * @throws TaskioError `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for a `dir` that is no path:
 *   `null` must not mean the default, nor `''` the current directory.
 */
export function withFIFODir(dir: string): Opt {
  checkPath(dir, 'the FIFO directory');
  return (s) => {
    s.fifoDir = dir;
  };
}

/**
 * Turns the reading of bulk output in bursts on (the default) or off. On, once a stream brought
 * 16 KiB or more within a millisecond, the copy waits one timer (1 ms) after each read that emptied
 * the pipe, so a busy task wakes the reader about once a millisecond instead of once per write
 * (README, "Bulk output is read in bursts"). Off, every read follows the data at once, as in
 * containerd's `cio`: bulk output reaches the sink up to a millisecond sooner, at the CPU cost of
 * a wakeup per write. Output that comes now and then (a prompt, a line, a reply) is passed on at
 * once either way.
 */
export function withCoalescing(on: boolean): Opt {
  if (typeof on !== 'boolean') throw new TaskioError('ERR_INVALID_ARG_TYPE', `withCoalescing takes a boolean, got ${showValue(on)}`);
  return (s) => {
    s.coalesce = on;
  };
}

/**
 * Runs `fn` once the caller's stdin has ended, every byte of it is in the task's stdin FIFO, and
 * the client's FIFO writer is closed — the moment to tell the task host to close the task's stdin.
 *
 * Closing the client's end of the FIFO is not EOF for the task: the task host keeps a writer of its
 * own open so that a client that detaches does not end the task's input, exactly as containerd's
 * shim does. EOF comes only when the task host is asked to close stdin, so pass its call here:
 *
 * - containerd: `task.CloseIO(ctx, containerd.WithStdinCloser)` (the `CloseIO` task API with
 *   `stdin: true`; `ctr` makes the same call when its stdin ends);
 * - taskio's own process side: `() => init.closeStdin()` (or `process.closeStdin()` for an exec,
 *   `closeStdin()` of a bare `ProcessIO` from `createIO`);
 * - the taskio daemon: its close-stdin route.
 *
 * `fn` never runs after a detach (`cancel()`/`close()` before stdin was fully written), nor when
 * the FIFO's reader left (`EPIPE`), nor for an IO without stdin. If it throws or its promise
 * rejects, `wait()` rejects with that error: a task whose stdin was never closed may never end its
 * output, and waiting for that would hang.
 */
export function withStdinClose(fn: () => unknown): Opt {
  if (typeof fn !== 'function') throw new TaskioError('ERR_INVALID_ARG_TYPE', `withStdinClose takes a function, got ${showValue(fn)}`);
  return (s) => {
    s.stdinClose = fn;
  };
}

/**
 * Applies options over the defaults; the FIFO directory's default is left to its user, which asks
 * for it only when none was given. The streams are checked again at the end: an option of the
 * caller's own may have set anything.
 * @throws TaskioError `ERR_INVALID_ARG_TYPE` naming an option that is no function or a bad stream.
 */
export function applyOpts(opts: Opt[]): Streams {
  const s: Streams = {};
  opts.forEach((opt, i) => {
    if (typeof opt !== 'function') {
      throw new TaskioError('ERR_INVALID_ARG_TYPE', `option ${i + 1} must be an option function (withStreams(…), withTerminal …), got ${showValue(opt)}`);
    }
    opt(s);
  });
  checkStreams(s);
  checkStreamsOpen(s);
  return s;
}
