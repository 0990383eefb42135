import type { Readable } from 'node:stream';
import { FIFOSet, FifoWriter, ReaderLock, openFifoFd, type Config } from '../fifo/index.js';
import { Pump } from './pump.js';
import { FifoIO } from './fifoIO.js';
import type { Streams } from './streams.js';

/**
 * An IO that copies between a FIFO set and the caller's streams. It holds the set's reader lock
 * from the moment it opens stdout/stderr until it is cancelled or closed.
 */
export class PipeIO extends FifoIO {
  private readonly pumps: Pump[] = [];
  private stdinWriter: FifoWriter | null = null;
  private stdinSource: Readable | null = null;

  /**
   * Opens every FIFO the set names (creating them when missing) and starts copying. `lockPath`
   * is the FIFO whose lock guards the whole set — chosen from the set before streams the caller
   * left out were blanked, so a stderr-only reader and a stdout reader exclude each other.
   */
  constructor(set: FIFOSet, streams: Streams, lockPath: string) {
    super(set);
    const { stdin, stdout, stderr } = set.config;
    try {
      if (stdout || stderr) this.lock = ReaderLock.acquire(lockPath);
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

  protected stopStreams(): void {
    for (const p of this.pumps) p.stop();
    if (this.stdinWriter) {
      this.stdinSource?.unpipe(this.stdinWriter);
      this.stdinWriter.destroy();
    }
  }
}

/** The FIFO whose sidecar lock guards a set's readers: stdout, or stderr when stdout is unused. */
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
