import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import { isCode, recvFd, socketFd, type ReceivedFd } from '../../sys/index.js';
import { closeQuietly } from '../stdio/sink.js';
import { TaskioError, abortError } from '../../errors.js';
import { removeInside } from '../../removeInside.js';

/**
 * A listening console socket, what `runc`/`runsc --console-socket <path>` connect to in order to
 * hand over the pty master of a terminal process (containerd's `runc.Socket`).
 */
export interface ConsoleSocket {
  /** The socket's path, to pass as `--console-socket`. */
  readonly path: string;
  /**
   * Waits for the runtime to connect and send the pty master, and resolves with that fd (close-on-exec,
   * owned by the caller: wrap it in a {@link Console} or close it). Each call takes the next
   * connection. Rejects with an `AbortError` on `signal`, with `ERR_CONSOLE_SOCKET` when the runtime
   * closes the connection without an fd or sends anything but one terminal fd (each fd it sent is
   * closed), and with `ERR_CONSOLE_SOCKET_CLOSED` after {@link close}.
   */
  receiveMaster(signal?: AbortSignal): Promise<number>;
  /** Stops listening and removes the socket and its directory. Idempotent. */
  close(): Promise<void>;
}

/** The first and the longest wait between two `recvmsg` attempts, in ms. */
const FIRST_BACKOFF = 1, MAX_BACKOFF = 25;

/** The longest unix socket path Linux takes (`sun_path` is 108 bytes with the terminating NUL). */
const MAX_SOCKET_PATH = 107;

const dirPrefix = 'taskio-console-', socketName = 'pty.sock';

/**
 * Creates a console socket in a fresh 0700 directory inside `dir` (default: the OS temp dir; created
 * if missing) and starts listening.
 *
 * Node cannot receive an fd over a unix socket, so connections are accepted with `pauseOnConnect`
 * — libuv then never reads them, and would otherwise swallow the `SCM_RIGHTS` message — and the
 * fd is taken with `recvmsg` from `src/sys`, non-blocking, retried on `EAGAIN` with a short timer
 * backoff until the runtime sends it.
 */
export async function newConsoleSocket(dir: string = os.tmpdir()): Promise<ConsoleSocket> {
  const base = path.resolve(dir);
  // mkdtemp adds six characters: the length is known before anything is made.
  const planned = path.join(base, `${dirPrefix}XXXXXX`, socketName);
  if (Buffer.byteLength(planned) > MAX_SOCKET_PATH) {
    throw new TaskioError('ERR_CONSOLE_SOCKET', `console socket path is longer than ${MAX_SOCKET_PATH} bytes: ${planned}`);
  }
  await fs.promises.mkdir(base, { recursive: true, mode: 0o700 });
  const own = await fs.promises.mkdtemp(path.join(base, dirPrefix));
  const socketPath = path.join(own, socketName);
  const server = net.createServer({ pauseOnConnect: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    server.close();
    removeInside(base, own); // made above, in this call
    throw err;
  }
  return new ListeningConsoleSocket(server, socketPath, own);
}

/** The {@link ConsoleSocket} that {@link newConsoleSocket} returns. */
class ListeningConsoleSocket implements ConsoleSocket {
  readonly path: string;
  readonly #server: net.Server;
  readonly #dir: string;
  /** Connections accepted and not yet taken by `receiveMaster`. */
  readonly #connections: net.Socket[] = [];
  /** `receiveMaster` calls waiting for a connection. */
  readonly #takers = new Set<{ take(c: net.Socket): void; fail(err: Error): void }>();
  #closing: Promise<void> | null = null;

  constructor(server: net.Server, socketPath: string, dir: string) {
    this.path = socketPath;
    this.#server = server;
    this.#dir = dir;
    server.on('connection', (c) => {
      const taker = this.#takers.values().next().value;
      if (taker !== undefined) taker.take(c);
      else this.#connections.push(c);
    });
    // A listening server reports a failed accept as 'error' (and goes on listening). The runtime's
    // connection is lost with it, so whoever waits for a master learns of it now instead of at the
    // console timeout — and an 'error' with no listener would crash the host.
    server.on('error', (err) => {
      const failure = new TaskioError('ERR_CONSOLE_SOCKET', `the console socket ${this.path} failed to accept the runtime's connection: ${err.message}`, { cause: err });
      for (const taker of [...this.#takers]) taker.fail(failure);
    });
  }

  async receiveMaster(signal?: AbortSignal): Promise<number> {
    const conn = await this.#nextConnection(signal);
    try {
      return await this.#receive(conn, signal);
    } finally {
      conn.destroy();
    }
  }

  #nextConnection(signal?: AbortSignal): Promise<net.Socket> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (this.#closing !== null) return Promise.reject(closedError());
    const ready = this.#connections.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const taker = {
        take: (c: net.Socket): void => {
          done();
          resolve(c);
        },
        fail: (err: Error): void => {
          done();
          reject(err);
        },
      };
      const onAbort = (): void => taker.fail(abortError(signal));
      const done = (): void => {
        this.#takers.delete(taker);
        signal?.removeEventListener('abort', onAbort);
      };
      this.#takers.add(taker);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async #receive(conn: net.Socket, signal?: AbortSignal): Promise<number> {
    const fd = socketFd(conn);
    if (fd === null) throw new TaskioError('ERR_CONSOLE_SOCKET', 'the console socket connection has no fd');
    let backoff = FIRST_BACKOFF;
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      if (this.#closing !== null) throw closedError();
      let got: ReceivedFd;
      try {
        got = recvFd(fd);
      } catch (err) {
        if (!isCode(err, 'EAGAIN')) throw err;
        await delay(backoff, signal);
        backoff = Math.min(backoff * 2, MAX_BACKOFF);
        continue;
      }
      return this.#master(got);
    }
  }

  /**
   * The pty master in the runtime's message, or the error saying what came instead. Anything but
   * one terminal fd is refused, and every fd that came is closed: none stays open in this process.
   */
  #master(got: ReceivedFd): number {
    const [fd] = got.fds;
    if (fd !== undefined && got.fds.length === 1 && !got.truncated && tty.isatty(fd)) return fd;
    for (const f of got.fds) closeQuietly(f);
    if (fd === undefined) {
      throw new TaskioError('ERR_CONSOLE_SOCKET', got.data.length === 0
        ? 'the runtime closed the console socket without sending the pty master'
        : 'the runtime sent a message without a pty master over the console socket');
    }
    throw new TaskioError('ERR_CONSOLE_SOCKET', got.fds.length > 1 || got.truncated
      ? `the runtime sent ${got.truncated ? 'more than ' : ''}${got.fds.length} fds over the console socket ${this.path}, not one pty master`
      : `the runtime sent an fd that is not a terminal over the console socket ${this.path}`);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const taker of [...this.#takers]) taker.fail(closedError());
      for (const c of this.#connections.splice(0)) c.destroy();
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
      // Only what this socket created: the socket file (Node unlinks it on close) and its directory.
      await fs.promises.rm(this.path, { force: true });
      await fs.promises.rmdir(this.#dir).catch((err: unknown) => {
        if (!isCode(err, 'ENOENT')) throw err;
      });
    })();
    return this.#closing;
  }
}

/** Resolves after `ms`, early (without rejecting) when `signal` aborts: the caller checks it. */
function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function closedError(): TaskioError {
  return new TaskioError('ERR_CONSOLE_SOCKET_CLOSED', 'the console socket was closed');
}
