import { Readable, Writable } from 'node:stream';
import { TaskioError } from '../../errors.js';

/** The kernel32 calls a pipe stream needs, injected so this file never loads a DLL itself. */
export interface PipeApi {
  /** Bytes waiting in the pipe, `-1` once the writer is gone (ERROR_BROKEN_PIPE), `-2` on another error. */
  available(handle: unknown): number;
  /** Reads up to `n` bytes that are known to be waiting (so it does not block). */
  read(handle: unknown, n: number): Buffer;
  /** Writes all of `data`, on a worker thread (a full pipe would block). */
  write(handle: unknown, data: Buffer): Promise<void>;
  /** Closes the handle. */
  close(handle: unknown): void;
}

/**
 * A readable stream over a raw Windows pipe HANDLE. **Not verified on Windows.**
 *
 * Why not `net.Socket({ fd })`: Node links its C runtime statically, so a descriptor made with
 * `_open_osfhandle` in another CRT is not one libuv knows. Why not a blocking `ReadFile` on a worker:
 * each idle reader would hold one of libuv's four threadpool threads, and four of them stall every
 * `fs` call of the process. So this polls `PeekNamedPipe` on a timer with backoff (1 ms doubling to
 * 50 ms) and reads only what is waiting.
 */
export function pipeReader(api: PipeApi, handle: unknown): Readable {
  let delay = 1;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const finish = (): void => {
    if (closed) return;
    closed = true;
    api.close(handle);
  };
  const poll = (stream: Readable): void => {
    timer = undefined;
    if (closed) return;
    const n = api.available(handle);
    if (n === -1) {
      finish();
      stream.push(null); // the writer closed its end: EOF
      return;
    }
    if (n < 0) {
      // Any other failure must not read as a clean end of output (Go, under hcsshim's pipes, reads
      // only ERROR_BROKEN_PIPE as an end of file).
      stream.destroy(new TaskioError('ERR_HCS_READ', 'PeekNamedPipe failed on a process pipe'));
      return;
    }
    if (n === 0) {
      timer = setTimeout(() => poll(stream), delay);
      delay = Math.min(delay * 2, 50);
      return;
    }
    delay = 1;
    if (stream.push(api.read(handle, Math.min(n, 1 << 20)))) timer = setTimeout(() => poll(stream), 0);
  };
  return new Readable({
    read() {
      if (timer === undefined) poll(this);
    },
    destroy(err, cb) {
      if (timer !== undefined) clearTimeout(timer);
      finish();
      cb(err);
    },
  });
}

/** A writable stream over a raw Windows pipe HANDLE; each write runs on a worker thread. **Not verified on Windows.** */
export function pipeWriter(api: PipeApi, handle: unknown): Writable {
  let closed = false;
  const finish = (): void => {
    if (closed) return;
    closed = true;
    api.close(handle);
  };
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      api.write(handle, chunk).then(() => cb(), cb);
    },
    final(cb) {
      finish();
      cb();
    },
    destroy(err, cb) {
      finish();
      cb(err);
    },
  });
}
