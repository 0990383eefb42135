import { Writable } from 'node:stream';

type Callback = (err?: Error | null) => void;

/**
 * Stands between a process's output FIFO and the caller's stream until the runtime said whether the
 * process started. A runtime that cannot start it (runc's and runsc's `exec failed: …`) writes its
 * own error into the process's stderr, since the process's stdio is the runtime's own; the caller
 * already gets that error, typed, from the call: {@link drop} throws those bytes away. Once the
 * process runs, {@link open} lets everything through, in order. A held chunk keeps its write
 * callback, so the copy stops reading and the pipe fills, rather than memory.
 */
export class StartGate extends Writable {
  #state: 'held' | 'open' | 'dropped' = 'held';
  #held: { chunk: Buffer; done: Callback } | null = null;

  constructor(private readonly sink: Writable) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: Callback): void {
    if (this.#state === 'held') this.#held = { chunk, done };
    else this.#pass(chunk, done);
  }

  /** The process started: what was held and what follows go to the sink. */
  open(): void {
    this.#release('open');
  }

  /** The process never started: what was held and what still comes are the runtime's, and dropped. */
  drop(): void {
    this.#release('dropped');
  }

  #release(to: 'open' | 'dropped'): void {
    if (this.#state !== 'held') return;
    this.#state = to;
    const held = this.#held;
    this.#held = null;
    if (held) this.#pass(held.chunk, held.done);
  }

  #pass(chunk: Buffer, done: Callback): void {
    if (this.#state === 'dropped') done();
    else this.sink.write(chunk, (err) => done(err));
  }
}
