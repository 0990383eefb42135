import { PassThrough, type Writable } from 'node:stream';
import type { WinSize } from '../sys/index.js';
import { DetachScanner, parseDetachKeys } from './detachKeys.js';
import { brokenPipeCode, interruptedCode } from './interrupt.js';
import { SessionOutput } from './sessionOutput.js';
import type { TerminalSession } from './terminal.js';
import type { VerbContext } from './verb.js';

/**
 * How an attached session ended: the task's output is complete, the user typed the detach keys,
 * the user gave up on a task that ctrl-C did not end (see `proxySignals`), or this command's stdout
 * or stderr lost its reader (`EPIPE`: `taskio exec … | head`); the last three leave it running.
 */
export type SessionEnd = 'exited' | 'detached' | 'interrupted' | 'brokenPipe';

/**
 * The exit code of a session that let go of its task (130 after the interrupts, 141 for a broken
 * pipe: the codes a shell shows for a command SIGINT or SIGPIPE killed, docker's CLI's deaths), 0
 * after a detach; null once the task's output is complete (its exit code is the command's).
 */
export function leftCode(end: SessionEnd): number | null {
  if (end === 'exited') return null;
  return end === 'interrupted' ? interruptedCode : end === 'brokenPipe' ? brokenPipeCode : 0;
}

/** What {@link attachedSession} needs to know. */
export interface SessionOptions {
  /** Send this process's stdin to the task (`-i`, `attach` without `--no-stdin`). */
  stdin: boolean;
  /** The task (or exec) has a terminal: raw mode here, the window size followed (`-t`). */
  tty: boolean;
  /** `--detach-keys`, parsed; default `ctrl-p,ctrl-q`. */
  detachKeys?: Buffer | undefined;
  /** Called once this process's stdin ended (not a detach) and all of it was handed on: close the task's stdin. */
  closeStdin?: (() => Promise<void>) | undefined;
  /** Posts a window size to the task's terminal (called at once and on every `SIGWINCH`). */
  resize(size: WinSize): Promise<void>;
  /** Settles when the user gives up waiting: the session lets go of the task as a detach does. */
  interrupted?: Promise<void> | undefined;
  /**
   * Starts the copy: `stdin` (already filtered of the detach keys; `null` when stdin is not
   * attached) into the task, the task's output into `stdout`/`stderr`. Resolves with a function
   * that stops it (a detach), a promise of the end of the output, and one of the moment all of
   * `stdin` was handed on (default: once `stdin` ended). `size`: this terminal's window size so far
   * (a task made by the call can start with it; it is posted once connected as well).
   */
  connect(streams: { stdin: PassThrough | null; stdout: Writable; stderr: Writable; size: WinSize | null }): Promise<{ done: Promise<unknown>; detach(): void; inputSent?: Promise<void> }>;
}

/**
 * The attached part of `run`, `attach` and `exec`, as docker's CLI does it: this process's
 * terminal in raw mode while a task's terminal is attached, its window size followed, the
 * detach keys watched for here (so a detach is told apart from an exit for certain, and the
 * keys never reach the task), and the terminal restored on every way out. A stdout or stderr
 * whose reader went away (`EPIPE`) ends the session as a detach does (`'brokenPipe'`): docker's
 * CLI dies of SIGPIPE there, and this command leaves as quietly, its cleanup done; another error
 * of theirs ends it as well and is thrown.
 */
export async function attachedSession(ctx: VerbContext, opts: SessionOptions): Promise<SessionEnd> {
  let term: TerminalSession | null = null;
  const output = new SessionOutput(ctx.stdout, ctx.stderr);
  const input = opts.stdin ? new PassThrough() : null;
  let scanner: DetachScanner | null = null;
  let detach: (() => void) | null = null;
  let detached = false;
  let interrupted = false;
  let onDetached!: () => void;
  const detachedNow = new Promise<void>((resolve) => { onDetached = resolve; });
  let stopped = false;
  // Sizes seen before the copy is connected (an exec's process does not exist yet): the last one
  // is posted once it is.
  let connected = false;
  let pendingSize: WinSize | null = null;
  const resizeQuietly = (size: WinSize): void => {
    if (!connected) {
      pendingSize = size;
      return;
    }
    // A resize that arrives as the task exits fails: nothing to tell the user.
    void opts.resize(size).catch(() => undefined);
  };
  const onData = (chunk: Buffer): void => {
    const r = scanner!.scan(chunk);
    // Backpressure: a task that reads slowly slows the reading of stdin, never grows memory.
    if (r.data.length > 0 && !input!.write(r.data)) {
      ctx.stdin.pause();
      input!.once('drain', () => { if (!stopped) ctx.stdin.resume(); });
    }
    if (r.detached) {
      detached = true;
      stopInput();
      onDetached();
      detach?.();
    }
  };
  const onEnd = (): void => {
    const held = scanner!.flush();
    if (held.length > 0) input!.write(held);
    input!.end();
  };
  const stopInput = (): void => {
    stopped = true;
    ctx.stdin.off('data', onData);
    ctx.stdin.off('end', onEnd);
    ctx.stdin.pause();
  };
  void opts.interrupted?.then(() => {
    interrupted = detached = true;
    if (input) stopInput();
    onDetached();
    detach?.();
  });
  try {
    // Loaded for `-t` only: the terminal code loads the native binding (the window size).
    if (opts.tty) term = (await import('./terminal.js')).openTerminal({ stdin: ctx.stdin, stdout: ctx.stdout, raw: opts.stdin, onResize: resizeQuietly });
    if (input) {
      // As docker: the detach keys are read only from a terminal; piped input is data, all of it.
      scanner = new DetachScanner(opts.tty ? (opts.detachKeys ?? parseDetachKeys('')) : Buffer.alloc(0));
      ctx.stdin.on('data', onData);
      ctx.stdin.once('end', onEnd);
    }
    const conn = await opts.connect({ stdin: input, stdout: output.stdout, stderr: opts.tty ? output.stdout : output.stderr, size: pendingSize });
    detach = conn.detach;
    // Once the attach handed on all of the input (through the daemon, once the connection is
    // half-closed: the daemon's writer then holds the task's stdin FIFO until it wrote the last
    // byte, so the close never cuts what was sent); a detach never ends it.
    if (input && opts.closeStdin) {
      const close = opts.closeStdin;
      const sent = conn.inputSent ?? new Promise<void>((resolve) => input.once('end', resolve));
      void sent.then(() => close()).catch(() => undefined);
    }
    connected = true;
    if (pendingSize) resizeQuietly(pendingSize);
    if (detached) conn.detach();
    const failed = await Promise.race([conn.done.then(() => null), detachedNow.then(() => null), output.broken]);
    if (failed !== null) {
      conn.detach();
      if (failed.code !== 'EPIPE') throw failed;
      return 'brokenPipe';
    }
    return interrupted ? 'interrupted' : detached ? 'detached' : 'exited';
  } finally {
    if (input) stopInput();
    term?.restore();
    output.dispose();
  }
}
