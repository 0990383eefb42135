import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Config } from '../fifo/index.js';
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
  s.stdin = process.stdin;
  s.stdout = process.stdout;
  s.stderr = process.stderr;
};

/** Terminal mode: one output stream, no stderr FIFO. */
export const withTerminal: Opt = (s) => {
  s.terminal = true;
};

/** Uses the given streams; a stream left out (or `null`) gets a blank path and no FIFO. */
export function withStreams(stdin?: Readable | null, stdout?: Writable | null, stderr?: Writable | null): Opt {
  return (s) => {
    s.stdin = stdin ?? undefined;
    s.stdout = stdout ?? undefined;
    s.stderr = stderr ?? undefined;
  };
}

/** Makes FIFO sets inside `dir` instead of the default. */
export function withFIFODir(dir: string): Opt {
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
  return (s) => {
    s.stdinClose = fn;
  };
}

/** Applies options over the defaults; the FIFO directory's default is left to its user, which asks for it only when none was given. */
export function applyOpts(opts: Opt[]): Streams {
  const s: Streams = {};
  for (const opt of opts) opt(s);
  return s;
}
