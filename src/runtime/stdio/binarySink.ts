import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import type { Writable } from 'node:stream';
import { TaskioError } from '../../errors.js';
import { getFileFlags, pipe2, setFileFlags } from '../../sys/index.js';
import { closeQuietly, type OutputName, type OutputSink } from './sink.js';

/** Options of a {@link BinarySink}. */
export interface BinarySinkOptions {
  /** `CONTAINER_ID` of the logger. */
  id: string;
  /** `CONTAINER_NAMESPACE` of the logger. */
  namespace: string;
  /** How long the logger may take to signal ready (ms). */
  readyTimeout: number;
  /** How long the logger has after SIGTERM before SIGKILL (ms). */
  grace: number;
}

/** The last bytes of the logger's stderr kept for error messages. */
const STDERR_TAIL = 4096;
/**
 * How long the logger's stderr may stay open after it exited (Go's `Cmd.WaitDelay`): long enough to
 * read what it wrote last, bounded because a process it left behind may hold the pipe forever.
 */
const STDERR_LINGER_MS = 1000;

/**
 * `binary://` and `binary-v2://` output: a logging driver process started with the task's stdout
 * as fd 3, its stderr as fd 4 and a ready pipe as fd 5 (containerd's shim convention), and an
 * environment of only `CONTAINER_ID` and `CONTAINER_NAMESPACE`. Made with {@link BinarySink.start},
 * which resolves once the logger is ready: for `binary://` a byte or the close of fd 5, for
 * `binary-v2://` exactly a byte (a close without one is the error "did not call ready").
 */
export class BinarySink implements OutputSink {
  readonly #child: ChildProcess;
  /** Resolves once the logger exited and our end of its stderr pipe is closed. */
  readonly #exited: Promise<void>;
  /** Our copies of the write ends, given to the runtime; null once closed. */
  #out: number | null;
  #err: number | null;
  #writable: net.Socket | null = null;
  readonly #grace: number;
  #closed: Promise<void> | null = null;

  private constructor(child: ChildProcess, exited: Promise<void>, out: number, err: number, grace: number) {
    this.#child = child;
    this.#exited = exited;
    this.#out = out;
    this.#err = err;
    this.#grace = grace;
  }

  /**
   * Starts the logger at `bin` with `args` and waits for it to be ready. Every fd it made is closed
   * again when anything fails, the spawn included.
   */
  static async start(bin: string, args: string[], requireReady: boolean, opts: BinarySinkOptions): Promise<BinarySink> {
    const made: number[] = [];
    const pipe = (): { read: number; write: number } => {
      const p = pipe2();
      made.push(p.read, p.write);
      return p;
    };
    let out: { read: number; write: number }, err: typeof out, ready: typeof out;
    let child: ChildProcess;
    try {
      out = pipe();
      err = pipe();
      ready = pipe();
      // The logger's own stderr is kept (last bytes) to explain a failure; it is a host process,
      // so Node's socketpair is fine there.
      child = spawn(bin, args, {
        stdio: ['ignore', 'ignore', 'pipe', out.read, err.read, ready.write],
        env: { CONTAINER_ID: opts.id, CONTAINER_NAMESPACE: opts.namespace },
      });
    } catch (e) {
      for (const fd of made) closeQuietly(fd);
      throw e;
    }
    // The logger has its own copies now (or never started: 'error' says so below).
    for (const fd of [out.read, err.read, ready.write]) closeQuietly(fd);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-STDERR_TAIL); });
    // Set from callbacks; an object so the compiler does not narrow them to their initial null.
    const seen: { exitStatus: string | null } = { exitStatus: null };
    const exited = new Promise<void>((resolve) => {
      child.once('error', () => resolve());
      child.once('exit', (code, signal) => { seen.exitStatus = code !== null ? `exit status ${code}` : `signal ${signal}`; resolve(); });
    }).then(() => releaseStderr(child));
    // 'close' also waits for the logger's stderr to end: its last words, for the error message.
    const closed = new Promise<void>((resolve) => { child.once('close', () => resolve()); child.once('error', () => resolve()); });
    const sink = new BinarySink(child, exited, out.write, err.write, opts.grace);
    try {
      // Node reports a failed spawn (missing binary, not executable) as 'error', a started one as 'spawn'.
      const spawnError = await new Promise<Error | null>((resolve) => {
        child.once('spawn', () => resolve(null));
        child.once('error', resolve);
      });
      if (spawnError !== null) {
        closeQuietly(ready.read);
        throw new TaskioError('ERR_LOGGER_NOT_READY', `cannot start logging binary ${bin}: ${spawnError.message}`, { cause: spawnError });
      }
      const got = await waitReady(ready.read, opts.readyTimeout);
      if (got === 'byte' || (got === 'eof' && !requireReady)) return sink;
      // binary-v2 closed fd 5 without the byte: usually a logger on its way out; say how it ended.
      if (got === 'eof') await settleWithin(closed, opts.readyTimeout);
      const how = got === 'timeout' ? ` within ${opts.readyTimeout} ms` : seen.exitStatus ? ` (it exited: ${seen.exitStatus})` : ' (it closed the ready pipe, fd 5)';
      const said = stderr.trim() ? `: ${stderr.trim()}` : '';
      throw new TaskioError('ERR_LOGGER_NOT_READY', `logging binary ${bin} did not call ready${how}${said}`);
    } catch (e) {
      await sink.close();
      throw e;
    }
  }

  /** The logger's pid. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  childFd(name: OutputName): number {
    const fd = name === 'stdout' ? this.#out : this.#err;
    if (fd === null) throw new TaskioError('ERR_STDIO_CLOSED', 'the logging binary pipes are closed');
    return fd;
  }

  writable(): Writable {
    if (this.#writable === null) {
      const fd = this.childFd('stdout');
      this.#out = null; // the socket owns it now
      setFileFlags(fd, getFileFlags(fd) | fs.constants.O_NONBLOCK);
      this.#writable = new net.Socket({ fd, readable: false, writable: true });
      this.#writable.on('error', () => { /* the logger left */ });
    }
    return this.#writable;
  }

  closeChildFds(): void {
    closeQuietly(this.#out);
    closeQuietly(this.#err);
    this.#out = this.#err = null;
  }

  /** Closes our pipe ends and waits for the logger to finish the task's output and exit. */
  async drain(): Promise<void> {
    this.closeChildFds();
    const w = this.#writable;
    if (w && !w.destroyed) await new Promise<void>((resolve) => { w.once('close', () => resolve()); w.end(); });
    await this.#exited;
  }

  /**
   * Stops the logger: closes our pipe ends, sends SIGTERM, then SIGKILL when it has not exited
   * after the grace period. Resolves once it exited. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.closeChildFds();
      this.#writable?.destroy();
      const child = this.#child;
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        await this.#exited;
        return;
      }
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, this.#grace);
      });
      await Promise.race([this.#exited, killed]);
      clearTimeout(timer);
      await this.#exited;
    })();
    return this.#closed;
  }
}

/**
 * Resolves once our end of the exited logger's stderr pipe is closed, so a stop never resolves with
 * that fd still open. The pipe ends when its last writer is gone, which normally follows the exit at
 * once and leaves the logger's last words readable; a process the logger left running may hold it
 * forever, so after {@link STDERR_LINGER_MS} it is closed from here.
 */
function releaseStderr(child: ChildProcess): Promise<void> {
  const s = child.stderr;
  if (s === null || s.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => s.destroy(), STDERR_LINGER_MS);
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Resolves when `p` settles or after `ms`, whichever comes first. */
async function settleWithin(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
  clearTimeout(timer);
}

/** Reads the ready pipe (taking ownership of `fd`): a byte, EOF, or nothing before `timeout`. */
function waitReady(fd: number, timeout: number): Promise<'byte' | 'eof' | 'timeout'> {
  setFileFlags(fd, getFileFlags(fd) | fs.constants.O_NONBLOCK);
  const sock = new net.Socket({ fd, readable: true, writable: false });
  return new Promise((resolve) => {
    const settle = (how: 'byte' | 'eof' | 'timeout'): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(how);
    };
    const timer = setTimeout(() => settle('timeout'), timeout);
    sock.once('data', () => settle('byte'));
    sock.once('end', () => settle('eof'));
    sock.once('error', () => settle('eof'));
  });
}
