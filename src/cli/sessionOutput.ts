import { Writable } from 'node:stream';

/**
 * This command's stdout and stderr as an attached session's copies write into them. A write never
 * fails, so a copy (an exec's output gate, the attach's demultiplexer) never raises an error nobody
 * listens for; the first error of either stream — `EPIPE` once its reader went away
 * (`taskio exec … | head`) — settles {@link broken}, and what is written after it is dropped, so the
 * session can end through its own detach and cleanup instead of the process's fatal handler.
 */
export class SessionOutput {
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Settles with the first error of stdout or stderr; never otherwise. */
  readonly broken: Promise<NodeJS.ErrnoException>;
  #failed: NodeJS.ErrnoException | null = null;
  readonly #streams: NodeJS.WritableStream[];
  readonly #onError: (err: NodeJS.ErrnoException) => void;

  constructor(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream) {
    let report!: (err: NodeJS.ErrnoException) => void;
    this.broken = new Promise((resolve) => { report = resolve; });
    this.#onError = (err) => {
      this.#failed ??= err;
      report(this.#failed);
    };
    this.#streams = [...new Set([stdout, stderr])];
    for (const s of this.#streams) s.on('error', this.#onError);
    this.stdout = this.#sink(stdout);
    this.stderr = stderr === stdout ? this.stdout : this.#sink(stderr);
  }

  /** Stops listening for the streams' errors (the session is over). */
  dispose(): void {
    for (const s of this.#streams) s.removeListener('error', this.#onError);
  }

  #sink(target: NodeJS.WritableStream): Writable {
    return new Writable({
      write: (chunk: Buffer, _enc, done) => {
        if (this.#failed) return done();
        // The callback comes once the chunk is written out (or failed): backpressure as the target's.
        target.write(chunk, (err?: Error | null) => {
          if (err) this.#onError(err as NodeJS.ErrnoException);
          done();
        });
      },
    });
  }
}
