import { FIFOSet, ReaderLock, makeMissingFifos, openReaderFd, removeFifos, type Config } from '../fifo/index.js';
import { Pump } from './pump.js';
import { FifoIO } from './fifoIO.js';
import { StdinCopy } from './stdinCopy.js';
import type { IO, Streams } from './streams.js';

/**
 * An IO that copies between a FIFO set and the caller's streams. It holds the set's reader lock
 * from the moment it opens stdout/stderr until it is cancelled or closed.
 *
 * A detach (`cancel()`) loses nothing: the output copies hand each chunk to the caller's sink in
 * the read that took it from the pipe, and the stdin copy gives back to the caller's stdin what
 * did not reach the FIFO (see {@link StdinCopy}).
 */
export class PipeIO implements IO {
  readonly #io: FifoIO;
  readonly #pumps: Pump[] = [];
  #stdin: StdinCopy | null = null;

  /**
   * Opens every FIFO the set names (creating them when missing) and starts copying. `lockPath`
   * is the FIFO whose lock guards the whole set — chosen from the set before streams the caller
   * left out were blanked, so a stderr-only reader and a stdout reader exclude each other. If it
   * throws, the FIFOs it made are gone again.
   */
  constructor(set: FIFOSet, streams: Streams, lockPath: string) {
    const io = new FifoIO(set, () => this.#stopStreams());
    this.#io = io;
    const { stdin, stdout, stderr } = set.config;
    let made: string[] = [];
    try {
      // Made up front, so that a failure further on (a stdin that is a regular file) knows what
      // this attach made itself: that goes, whatever was there before stays. The opens below then
      // only check what is there: one mkfifo per FIFO, as before the set was made up front.
      made = makeMissingFifos([stdout || stderr ? lockPath : '', stdout, stderr, stdin]);
      const lock = stdout || stderr ? ReaderLock.acquire(lockPath, { made }) : null;
      io.lock = lock;
      // The lock opened and checked its FIFO already: its reader shares that open.
      const reader = (p: string): number => (p === lock?.path ? lock.dupFd() : openReaderFd(p, made));
      const pumpOpts = { coalesce: streams.coalesce }; // Pump decides the default
      if (stdout && streams.stdout) this.#pumps.push(new Pump(reader(stdout), streams.stdout, pumpOpts));
      if (stderr && streams.stderr) this.#pumps.push(new Pump(reader(stderr), streams.stderr, pumpOpts));
      // Closing our FIFO writer when the caller's stdin ends is not EOF for the task: its task host
      // (containerd's shim, taskio's process side) holds a writer of its own until asked to close
      // the task's stdin — which the caller does from the stdin-close hook (withStdinClose).
      if (stdin && streams.stdin) this.#stdin = new StdinCopy(stdin, streams.stdin, io.abort.signal, streams.stdinClose);
    } catch (err) {
      this.cancel();
      removeFifos(made);
      throw err;
    }
    const outputs = Promise.all(this.#pumps.map((p) => p.done)).then(() => undefined);
    // A failed stdin-close hook rejects wait(): without the task's EOF its output may never end.
    const hookFailed = this.#stdin ? this.#stdin.closed.then(() => new Promise<never>(() => undefined)) : null;
    io.waiting = hookFailed ? Promise.race([outputs, hookFailed]) : outputs;
    io.waiting.catch(() => undefined); // reported through wait(); not an unhandled rejection
  }

  config(): Config {
    return this.#io.config();
  }

  cancel(): void {
    this.#io.cancel();
  }

  wait(): Promise<void> {
    return this.#io.wait();
  }

  close(): Promise<void> {
    return this.#io.close();
  }

  #stopStreams(): void {
    for (const p of this.#pumps) p.stop();
    this.#stdin?.stop();
  }
}

/** The FIFO whose lock guards a set's readers: stdout, or stderr when stdout is unused. */
export function readerLockPath(config: Config): string {
  return config.stdout || config.stderr;
}

/**
 * Starts copying between `set` and the caller's streams; streams the caller did not give get a
 * blank path in the IO's config.
 */
export function copyIO(set: FIFOSet, streams: Streams, terminal: boolean): PipeIO {
  return new PipeIO(blankMissing(set, streams, terminal), streams, readerLockPath(set.config));
}

function blankMissing(set: FIFOSet, streams: Streams, terminal: boolean): FIFOSet {
  const c = set.config;
  return new FIFOSet({
    terminal,
    stdin: streams.stdin ? c.stdin : '',
    stdout: streams.stdout ? c.stdout : '',
    stderr: streams.stderr && !terminal ? c.stderr : '',
  }, () => set.close());
}
