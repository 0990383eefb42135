import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { openLogWriter, parseLogOptions, type LogWriter, type ParsedLogOptions } from '../../logfile/index.js';
import { makeParentDirs } from '../../madeDirs.js';
import { isNotRegularOpenError, notRegularFile, notRegularFileAt } from '../../notRegularFile.js';
import { getFileFlags, pipe2, setFileFlags } from '../../sys/index.js';
import { closeQuietly, type OutputName, type OutputSink } from './sink.js';

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/**
 * `file://` output: stdout and stderr appended to one file (its directories created as the file
 * is opened, so a `createIO` that fails before that has made nothing).
 *
 * A plain raw log (no query) gives the runtime an `O_APPEND` fd: the task writes the file itself,
 * nothing is copied, and runsc — which writes a regular file from its own offset — cannot
 * overwrite what is there. Any option (`?format=cri`, `maxSize` …) needs taskio to see the bytes:
 * the task then writes real pipes that the log writer of `src/logfile` copies into the file.
 */
export class FileSink implements OutputSink {
  readonly options: ParsedLogOptions;
  #appendFd: number | null = null;
  #writer: LogWriter | null = null;
  readonly #pipeWriteEnds: number[] = [];
  readonly #copies: Promise<unknown>[] = [];
  #drained: Promise<void> | null = null;
  readonly #onError: (err: Error) => void;
  readonly #onResume: () => void;

  /** `onError` hears a stalled writer (full disk, unwritable directory); `onResume` its recovery. */
  constructor(url: URL, onError: (err: Error) => void = () => undefined, onResume: () => void = () => undefined) {
    this.#onError = onError;
    this.#onResume = onResume;
    this.options = parseLogOptions(new URL(url.href));
  }

  get #plain(): boolean {
    const o = this.options;
    return o.format === 'raw' && o.maxSize === undefined;
  }

  childFd(name: OutputName): number {
    if (this.#plain) {
      this.#appendFd ??= inNewDirs(this.options.path, () => openAppendOnly(this.options.path, this.options.mode ?? 0o640));
      return this.#appendFd;
    }
    // The writer before the pipe: nothing is left open when making it fails.
    const writer = this.#logWriter();
    const p = pipe2();
    this.#pipeWriteEnds.push(p.write);
    // copyFrom takes the read end and reads it until every writer (the task, our copy) closed it
    // (a refusal closes it too, and rejects).
    this.#copies.push(writer.copyFrom(name, p.read).catch(() => 0));
    return p.write;
  }

  writable(): Writable {
    return this.#logWriter().stream('stdout');
  }

  closeChildFds(): void {
    closeQuietly(this.#appendFd);
    this.#appendFd = null;
    for (const fd of this.#pipeWriteEnds.splice(0)) closeQuietly(fd);
  }

  drain(): Promise<void> {
    this.#drained ??= (async () => {
      this.closeChildFds();
      const w = this.#writer;
      if (w === null) return;
      const s = w.stream('stdout');
      if (!s.writableEnded) await new Promise<void>((resolve) => s.end(() => resolve()));
      await Promise.all(this.#copies);
      await w.close().catch(() => undefined);
    })();
    return this.#drained;
  }

  async close(): Promise<void> {
    this.closeChildFds();
    await this.#writer?.close().catch(() => undefined);
  }

  /** The log writer makes the file's directories itself, when it first writes. */
  #logWriter(): LogWriter {
    if (this.#writer === null) {
      const { path: file, ...opts } = this.options;
      this.#writer = openLogWriter(file, opts);
      // A full disk stalls the writer (the task backs up in its pipe, nothing is dropped); the host
      // hears of it and of the recovery, and is never crashed by it.
      this.#writer.on('error', this.#onError);
      this.#writer.on('resume', this.#onResume);
    }
    return this.#writer;
  }
}

/**
 * Runs `open` once `file`'s missing directories are made (0755, as the log writer makes them). When
 * it throws, the directories this call made are removed again ({@link makeParentDirs}).
 */
function inNewDirs<T>(file: string, open: () => T): T {
  const undoDirs = makeParentDirs(file, 0o755);
  try {
    return open();
  } catch (err) {
    undoDirs();
    throw err;
  }
}

/**
 * Opens (or creates) a log file for appending, refusing anything but a regular file: a symlink
 * planted there would redirect root's writes (`O_NOFOLLOW`), and a FIFO would block the open until
 * someone reads it (`O_NONBLOCK`: the open fails with `ENXIO` or returns at once, and `fstat`
 * tells); a directory fails with `EISDIR`. `O_NONBLOCK` is cleared again before the task gets the fd.
 * @throws TaskioError `ERR_NOT_REGULAR_FILE` naming the path and what is there.
 */
function openAppendOnly(file: string, mode: number): number {
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, mode);
  } catch (err) {
    if (isNotRegularOpenError(err)) throw notRegularFileAt(file, err);
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw notRegularFile(file, st);
    setFileFlags(fd, getFileFlags(fd) & ~O_NONBLOCK);
    return fd;
  } catch (err) {
    closeQuietly(fd);
    throw err;
  }
}
