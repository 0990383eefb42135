import { Writable } from 'node:stream';
import { nonRetaining } from '../attach/nonRetaining.js';

/** The stream a frame of a multiplexed attach/logs stream carries (Docker's `stdcopy` numbering). */
export const enum StreamType {
  Stdin = 0,
  Stdout = 1,
  Stderr = 2,
  /**
   * Docker's `systemerr`: an error of the stream itself, not the task's output. A log stream sends
   * one line (`Error grabbing logs: …`, docker's words) where the reader lost output, and goes on.
   */
  Systemerr = 3,
  /**
   * taskio's own: the task's exit record (JSON) after its output, sent only to a create-and-attach
   * that asked for it (`exit=1`), so no Docker client ever meets it.
   */
  Exit = 4,
}

/** The content type of a multiplexed stream (non-terminal tasks) and of a raw one (terminals). */
export const multiplexedType = 'application/vnd.docker.multiplexed-stream';
export const rawType = 'application/vnd.docker.raw-stream';

/** The header of the `101` to a `POST /tasks` upgrade (create and attach) that names the task made. */
export const taskHeader = 'Taskio-Task-Id';

/** The size of a frame header. */
export const frameHeaderSize = 8;

/** The 8-byte frame header: stream, three zero bytes, payload length (big-endian). */
export function frameHeader(stream: StreamType, length: number): Buffer {
  const h = Buffer.allocUnsafe(frameHeaderSize);
  writeFrameHeader(h, 0, stream, length);
  return h;
}

/** Writes a frame header ({@link frameHeader}) into `buf` at `at`; returns where it ends. */
export function writeFrameHeader(buf: Buffer, at: number, stream: StreamType, length: number): number {
  buf[at] = stream;
  buf[at + 1] = 0;
  buf[at + 2] = 0;
  buf[at + 3] = 0;
  buf.writeUInt32BE(length, at + 4);
  return at + frameHeaderSize;
}

/**
 * A sink that frames each chunk for one stream into `out` (Docker's multiplexed format, which its
 * clients and `docker attach` decode), or writes it as is for a terminal (`raw`). Its write
 * callback fires once `out` is done with the chunk, so the copy engine may lend it pooled buffers.
 */
export function framedSink(out: Writable, stream: StreamType, raw: boolean): Writable {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (out.destroyed || out.writableEnded) return cb(new Error('the attach stream is closed'));
      if (!raw) out.write(frameHeader(stream, chunk.length));
      out.write(chunk, (err) => cb(err ?? null));
    },
  });
  return nonRetaining(sink);
}

/**
 * Splits a multiplexed stream back into its streams (the client side of {@link framedSink}),
 * writing each payload to `sinks[stream]` (a stream with no sink is dropped). A chunk is
 * acknowledged once its payloads are written, so a slow sink slows the socket, not memory.
 */
export class Demultiplexer extends Writable {
  #pending: Buffer = Buffer.alloc(0);
  #stream: StreamType = StreamType.Stdout;
  #left = 0;

  readonly #sinks: Partial<Record<StreamType, Writable | null>>;

  constructor(sinks: Partial<Record<StreamType, Writable | null>>) {
    super();
    this.#sinks = sinks;
  }

  /**
   * Consecutive payloads of one stream in a chunk go to its sink as one write: a frame per line
   * (a log of short lines) would otherwise cost a write — a syscall on a terminal or pipe — each.
   */
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    let data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = Buffer.alloc(0);
    const writes: Promise<void>[] = [];
    let run: Buffer[] = [];
    let runStream = this.#stream;
    const flush = (): void => {
      const sink = this.#sinks[runStream];
      if (sink && run.length > 0) {
        const payload = run.length === 1 ? run[0]! : Buffer.concat(run);
        writes.push(new Promise((resolve) => sink.write(payload, () => resolve())));
      }
      run = [];
    };
    while (data.length > 0) {
      if (this.#left === 0) {
        if (data.length < frameHeaderSize) {
          this.#pending = Buffer.from(data);
          break;
        }
        this.#stream = data[0] as StreamType;
        this.#left = data.readUInt32BE(4);
        data = data.subarray(frameHeaderSize);
        continue;
      }
      if (this.#stream !== runStream) {
        flush();
        runStream = this.#stream;
      }
      const n = Math.min(this.#left, data.length);
      run.push(data.subarray(0, n));
      this.#left -= n;
      data = data.subarray(n);
    }
    flush();
    Promise.all(writes).then(() => cb(), cb);
  }
}
