import type { Readable } from 'node:stream';
import { FifoWriter } from '../fifo/index.js';

/**
 * Copies the caller's stdin into a task's stdin FIFO, exactly once across detaches: a detach
 * ({@link stop}) hands every byte it took from the caller's stream and did not get into the FIFO
 * back to that stream (`unshift`), so the next attach with the same stream sends it. The one
 * exception is a stream that has already emitted `'end'`, which takes nothing back: then those bytes
 * (at most the writer's 64 KiB buffer and one chunk) are dropped — wait for the stdin-close hook
 * before detaching when the whole input must arrive.
 *
 * When the stream ends and its last byte is in the FIFO, the FIFO writer closes and `onClose` runs.
 * That close is not the task's EOF: the task host ends the task's stdin only when asked (containerd's
 * `CloseIO`, taskio's `closeStdin()`), which is what `onClose` is for.
 */
export class StdinCopy {
  /** Settles once `onClose` ran (with its result), or never when it does not run. */
  readonly closed: Promise<void>;
  readonly #source: Readable;
  readonly #writer: FifoWriter;
  #stopped = false;

  constructor(path: string, source: Readable, signal: AbortSignal, onClose?: () => unknown) {
    this.#source = source;
    const writer = new FifoWriter(path, { signal }); // made by the attach (PipeIO)
    this.#writer = writer;
    // A reader that leaves (EPIPE) or a cancelled open ends the copy, never the process.
    writer.on('error', () => this.stop());
    this.closed = new Promise((resolve, reject) => {
      writer.once('close', () => {
        if (this.#stopped || !writer.writableFinished) return;
        try {
          Promise.resolve(onClose?.()).then(() => resolve(), reject);
        } catch (err) {
          reject(err);
        }
      });
    });
    source.pipe(writer);
  }

  /** Stops copying now and gives what did not reach the FIFO back to the caller's stream. Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const source = this.#source, writer = this.#writer;
    source.unpipe(writer);
    writer.destroy();
    const rest = writer.unwritten();
    if (rest.length > 0 && !source.readableEnded && !source.destroyed) source.unshift(rest);
  }
}
