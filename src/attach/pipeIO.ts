import type { Readable } from 'node:stream';
import { FIFOSet, FifoWriter, ReaderLock, openFifoFd, type Config } from '../fifo/index.js';
import { Pump } from './pump.js';
import type { IO, Streams } from './streams.js';

/**
 * An IO that copies between a FIFO set and the caller's streams. It holds the set's reader lock
 * from the moment it opens stdout/stderr until it is cancelled or closed.
 */
export class PipeIO implements IO {
  private readonly pumps: Pump[] = [];
  private stdinWriter: FifoWriter | null = null;
  private stdinSource: Readable | null = null;
  private lock: ReaderLock | null = null;
  private readonly abort = new AbortController();
  private readonly waiting: Promise<void>;

  /** Opens every FIFO the set names (creating them when missing) and starts copying. */
  constructor(private readonly set: FIFOSet, streams: Streams) {
    const { stdin, stdout, stderr } = set.config;
    try {
      const readerPath = stdout || stderr;
      if (readerPath) this.lock = ReaderLock.acquire(readerPath);
      if (stdout && streams.stdout) this.pumps.push(new Pump(openFifoFd(stdout, 'r', { create: true }), streams.stdout));
      if (stderr && streams.stderr) this.pumps.push(new Pump(openFifoFd(stderr, 'r', { create: true }), streams.stderr));
      if (stdin && streams.stdin) this.feedStdin(stdin, streams.stdin);
    } catch (err) {
      this.cancel();
      throw err;
    }
    this.waiting = Promise.all(this.pumps.map((p) => p.done)).then(() => undefined);
  }

  private feedStdin(path: string, source: Readable): void {
    const writer = new FifoWriter(path, { create: true, signal: this.abort.signal });
    // A reader that leaves (EPIPE) or a cancelled open ends the copy, never the process.
    writer.on('error', () => source.unpipe(writer));
    // pipe() ends the FIFO when the caller's stdin ends: the task sees EOF, as with containerd.
    source.pipe(writer);
    this.stdinWriter = writer;
    this.stdinSource = source;
  }

  config(): Config {
    return { ...this.set.config };
  }

  cancel(): void {
    this.abort.abort();
    for (const p of this.pumps) p.stop();
    if (this.stdinWriter) {
      this.stdinSource?.unpipe(this.stdinWriter);
      this.stdinWriter.destroy();
    }
    this.lock?.release();
  }

  wait(): Promise<void> {
    return this.waiting;
  }

  async close(): Promise<void> {
    this.cancel();
    await this.set.close();
  }
}

/** Builds the set the copy uses: streams the caller did not give get a blank path. */
export function blankMissing(set: FIFOSet, streams: Streams, terminal: boolean): FIFOSet {
  const c = set.config;
  return new FIFOSet({
    terminal,
    stdin: streams.stdin ? c.stdin : '',
    stdout: streams.stdout ? c.stdout : '',
    stderr: streams.stderr && !terminal ? c.stderr : '',
  }, () => set.close());
}
