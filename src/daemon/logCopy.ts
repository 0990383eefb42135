import fs from 'node:fs';
import type { Logger } from 'pino';
import { ReaderLock, openFifoFd, type Config } from '../fifo/index.js';
import { makeParentDirs } from '../madeDirs.js';
import { openLogWriter, type LogWriter, type LogWriterOptions } from '../logfile/index.js';
import { OutputKeepAlive, outputPaths } from './keepAlive.js';

// lower-layer defect: a host task's orphans keep the output FIFO open after the init exited, so
// the copy may never see EOF; this long after the pipes drained, the log is taken as complete and
// the copy stopped.
const orphanGraceMs = 2000;

/**
 * Makes `file` empty when nothing is there and returns what it made; null when something was there
 * already (the writer checks what: a symlink, FIFO or directory is refused there). `O_EXCL` does not
 * follow a symlink, and `O_NONBLOCK` keeps a FIFO planted meanwhile from holding the daemon.
 */
function makeEmptyFile(file: string, mode: number): fs.Stats | null {
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK, mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
  try {
    return fs.fstatSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Log mode: the daemon is the FIFO set's single reader (it holds the set's reader lock) and writes
 * what the task prints into its log — `src/logfile`'s writer, CRI or raw, with rotation — reading
 * each FIFO into one reused buffer. The task writes its FIFOs through an fd of its own, so a daemon
 * that dies loses at most the read it held; the next one opens the set again and appends.
 *
 * After the task exited ({@link taskExited}): once the pipes are empty (read by the copy), the
 * daemon's own fd on each FIFO closes, and the copy's EOF ends the log ({@link done}).
 */
export class LogCopy {
  /** Resolves once every stream reached EOF and its last bytes are in the log (the log is complete). */
  readonly done: Promise<void>;
  readonly #writer: LogWriter;
  readonly #lock: ReaderLock;
  readonly #paths: string[];
  // Opened at once when adopting a task that may already be gone (a read would wait for a writer
  // forever), else at the exit: it keeps the copy from an early EOF and tells when the pipes drained.
  #keepAlive: OutputKeepAlive | null = null;
  #exited = false;
  #closed = false;
  #finished = false;
  readonly #logger: Logger;
  readonly #logPath: string;
  /** The log file as this copy made it (its identity), or null: it was there before. */
  #madeLog: fs.Stats | null = null;
  /** Removes the log's directories this copy made, while empty. */
  #undoDirs: () => void = () => undefined;

  private constructor(config: Config, logPath: string, opts: LogWriterOptions, adopted: boolean, logger: Logger) {
    this.#logger = logger;
    this.#logPath = logPath;
    this.#paths = outputPaths(config);
    this.#lock = ReaderLock.acquire(config.stdout || config.stderr);
    const fds: number[] = [];
    try {
      if (adopted) this.#keepAlive = OutputKeepAlive.open(this.#paths);
      for (const p of this.#paths) fds.push(openFifoFd(p, 'r', { create: true }));
    } catch (err) {
      for (const fd of fds) fs.closeSync(fd);
      this.#keepAlive?.close();
      this.#lock.release();
      throw err;
    }
    // lower-layer defect: followLog with tail 0 on a log that does not exist yet starts after the
    // entries of the file once it appears (the writer makes it on its first write), so an attach
    // made before the first output would miss that output. The file is made here, empty.
    try {
      this.#undoDirs = makeParentDirs(logPath, 0o700);
      this.#madeLog = makeEmptyFile(logPath, opts.mode ?? 0o640);
    } catch (err) {
      logger.warn({ err, log: logPath }, 'cannot make the task log yet');
    }
    this.#writer = openLogWriter(logPath, opts);
    this.#writer.on('error', (err: Error) => logger.error({ err, log: logPath }, 'task log cannot be written; output waits in the pipe'));
    this.#writer.on('resume', () => logger.info({ log: logPath }, 'task log writable again'));
    const names = config.terminal ? ['stdout'] as const : ['stdout', 'stderr'] as const;
    const copies = fds.map((fd, i) => this.#writer.copyFrom(names[i]!, fd));
    this.done = Promise.allSettled(copies).then(async () => {
      this.#finished = true;
      this.#keepAlive?.close();
      await this.#writer.close().catch((err: unknown) => logger.error({ err, log: logPath }, 'task log lost output on close'));
      this.#lock.release();
    });
  }

  /**
   * Starts copying `config`'s output FIFOs into the log at `logPath`.
   * @param adopted - the task was started by an earlier daemon and may already have exited.
   * @throws TaskioError `EBUSY` when another reader holds the set; errors of opening the FIFOs.
   */
  static start(config: Config, logPath: string, opts: LogWriterOptions, adopted: boolean, logger: Logger): LogCopy {
    return new LogCopy(config, logPath, opts, adopted, logger);
  }

  /** Whether the log file this copy writes was removed under it: what it writes reaches no reader. */
  get logRemoved(): boolean {
    return this.#writer.fileRemoved;
  }

  /** Where the log file this copy writes was renamed to outside taskio (an external logrotate), else null. */
  get logMovedTo(): string | null {
    return this.#writer.fileMovedTo;
  }

  /** The task exited: end the log once what it wrote has been read. Idempotent. */
  taskExited(): void {
    if (this.#exited || this.#closed) return;
    this.#exited = true;
    try {
      this.#keepAlive ??= OutputKeepAlive.open(this.#paths);
    } catch (err) {
      this.#logger.warn({ err, fifos: this.#paths }, 'cannot watch the output FIFOs drain');
      return;
    }
    void this.#keepAlive.closeWhenDrained().then(() => {
      setTimeout(() => {
        if (this.#closed || this.#finished) return;
        this.#logger.warn({ fifos: this.#paths }, 'output FIFO still open after the task exited (orphaned processes): log closed');
        void this.close();
      }, orphanGraceMs).unref();
    });
  }

  /**
   * Stops copying for a task whose create failed: as {@link close}, then the log file and the
   * directories this copy made are removed again while they are empty (the task never ran, so a
   * log it made holds nothing; a log that was there before, or that got output, stays).
   */
  async discard(): Promise<void> {
    await this.close();
    const made = this.#madeLog;
    const st = made && fs.lstatSync(this.#logPath, { throwIfNoEntry: false });
    if (st?.isFile() && st.size === 0 && st.ino === made!.ino && st.dev === made!.dev) fs.unlinkSync(this.#logPath);
    this.#undoDirs();
  }

  /**
   * Stops copying now (daemon shutdown, task removal): what was read is written, an unfinished
   * CRI line as an `F` entry; what is still in the pipes stays there for the next reader.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#keepAlive?.close();
      await this.#writer.close().catch(() => undefined);
    }
    await this.done;
  }
}
