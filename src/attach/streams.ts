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

/** Applies options over the defaults. */
export function applyOpts(opts: Opt[]): Streams {
  const s: Streams = { fifoDir: defaultFIFODir() };
  for (const opt of opts) opt(s);
  return s;
}
