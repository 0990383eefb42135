import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Console } from './console.js';

/** Where {@link copyConsole} copies a console's output from and its input to. */
export interface CopyConsoleOptions {
  /** Receives the terminal output (the task's stdout FIFO); ended when the output ends, unless `endStdout` is false. */
  stdout?: Writable;
  /** Feeds the terminal input (the task's stdin FIFO). Its end stops the copy; the console stays open. */
  stdin?: Readable;
  /** Whether to end `stdout` when the output ends (default true, like containerd closing the FIFO). */
  endStdout?: boolean;
  /** Stops both copies. */
  signal?: AbortSignal;
}

/** The two copies {@link copyConsole} started; each resolves when done and rejects on a stream error or abort. */
export interface ConsoleCopy {
  /** Settles once the output reached its end (`EIO`) and `stdout` took all of it. */
  output: Promise<void>;
  /** Settles once `stdin` ended and all of it was written to the terminal. */
  input: Promise<void>;
}

const done = Promise.resolve();

/**
 * Copies a console to the task's stdout and from its stdin, as a shim does for a terminal task,
 * with Node's backpressure both ways: a slow stdout reader stops reading the pty (the process then
 * blocks on its terminal), and a process that does not read its terminal stops stdin.
 *
 * The end of stdin does not close the terminal: a terminal has no half-close, and a client that
 * detaches must not hang up the task. Send `\x04` (EOF in canonical mode) to end input explicitly.
 *
 * An abort or a stream error destroys the streams of that copy (`stream.pipeline`): the console's
 * `output` stops reading and its `input` refuses writes, but the master stays open (resize still
 * works) until {@link Console.close}.
 */
export function copyConsole(console: Console, opts: CopyConsoleOptions): ConsoleCopy {
  const signal = opts.signal;
  const output = opts.stdout === undefined
    ? done
    : pipeline(console.output, opts.stdout, { end: opts.endStdout ?? true, ...(signal ? { signal } : {}) });
  const input = opts.stdin === undefined
    ? done
    : pipeline(opts.stdin, console.input, { end: false, ...(signal ? { signal } : {}) });
  return { output, input };
}
