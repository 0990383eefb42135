import { EventEmitter } from 'node:events';
import { Writable, type Readable } from 'node:stream';
import { silentLogger, type Logger } from '../../log.js';
import { TaskioError, showValue } from '../../errors.js';
import { validateContainerId } from '../../ids.js';
import { defaultDrainTimeoutMs } from '../../logfile/index.js';
import type { Config } from '../../fifo/index.js';
import type { Stdio, StdioFd } from '../oci/index.js';
import { BinarySink } from './binarySink.js';
import { FileSink } from './fileSink.js';
import { InputFifo } from './inputFifo.js';
import { OutputFifo } from './outputFifo.js';
import type { OutputSink } from './sink.js';
import { parseTarget } from './target.js';

/**
 * The default `loggerGrace`, 12 s as in containerd's shim: longer than the drain bound of a logger
 * on `runLoggingDriver`, so the SIGKILL never lands while it still writes.
 */
const defaultLoggerGrace = defaultDrainTimeoutMs + 2000;

/** Options of {@link createIO}. */
export interface CreateIOOptions {
  /** The task id: `CONTAINER_ID` of a `binary://` logger. */
  id: string;
  /** `CONTAINER_NAMESPACE` of a `binary://` logger. Default `'default'`. */
  namespace?: string;
  /** How long a `binary://` logger may take to signal ready, in ms. Default 10000. */
  readyTimeout?: number;
  /**
   * How long a `binary://` logger has between SIGTERM and SIGKILL on close, in ms. Default 12000,
   * containerd's shim's: more than the 10 s a logger built on `runLoggingDriver` takes at most to
   * drain its input after SIGTERM, so it is never killed while it still writes.
   */
  loggerGrace?: number;
  /** The task host's log (pino); log writer trouble is reported there. Default: silent. */
  logger?: Logger;
  /**
   * Output FIFOs hold a reader of their own (cio's keep-open): the process never gets `EPIPE`
   * while no client reads, and a client can (re)attach later — a task's. False for an exec's: the
   * FIFOs are opened write-only, so once the client's reader is gone (detached, its stdout broken,
   * killed) the process gets `EPIPE`/`SIGPIPE` at its next write, as docker's exec'd process does.
   * Default true.
   */
  keepOpen?: boolean;
}

/**
 * Events of a {@link ProcessIO}: `'logError'` when a `file://` log cannot be written (full disk,
 * unwritable directory — the task keeps running, its output waits in the pipe, the writer retries)
 * and `'logResume'` when writing goes on again. Not `'error'`: a full disk must not crash a host
 * that did not listen.
 */
export interface ProcessIOEvents {
  logError: [err: Error];
  logResume: [];
}

/**
 * The process side of a task's stdio (containerd's shim `processIO`): the fds a runtime gives the
 * task, and what keeps them working while clients come and go. Made by {@link createIO}.
 *
 * Lifecycle: pass {@link stdio} to the runtime (`create`/`exec`/`restore`), then
 * {@link closeChildFds} once it started the task; {@link drain} after the task exited (output
 * delivered, FIFO readers get EOF), {@link close} to release everything.
 */
export class ProcessIO extends EventEmitter<ProcessIOEvents> {
  /** The configuration this IO was made from. */
  readonly config: Config;
  readonly #stdin: InputFifo | null;
  readonly #sinks: OutputSink[];
  readonly #stdio: Stdio;
  readonly #terminalOut: Writable | null;
  #drained: Promise<void> | null = null;
  #closed: Promise<void> | null = null;

  /**
   * Made by {@link createIO} (through `fromParts`). Private, so the published declarations refuse `new ProcessIO()`: a
   * constructor marked internal would vanish from them and leave TypeScript's implicit public one.
   */
  private constructor(config: Config, stdin: InputFifo | null, sinks: OutputSink[], stdio: Stdio, terminalOut: Writable | null) {
    super();
    this.config = config;
    this.#stdin = stdin;
    this.#sinks = sinks;
    this.#stdio = stdio;
    this.#terminalOut = terminalOut;
  }

  /** @internal the IO over what {@link createIO} opened. */
  static fromParts(config: Config, stdin: InputFifo | null, sinks: OutputSink[], stdio: Stdio, terminalOut: Writable | null): ProcessIO {
    return new ProcessIO(config, stdin, sinks, stdio, terminalOut);
  }


  /**
   * The task's fds 0–2 for the runtime: real pipes, FIFO fds or files, each a file description of
   * its own (never one a Node stream here uses), or `'ignore'`. All `'ignore'` in terminal mode,
   * where the process's stdio is its pty.
   */
  get stdio(): Stdio {
    return this.#stdio;
  }

  /** Terminal mode: where the console's output is copied to (the stdout FIFO, log or logger). */
  terminalOutput(): Writable | null {
    return this.#terminalOut;
  }

  /** Terminal mode: what is copied into the console (the stdin FIFO), or null without stdin. */
  terminalInput(): Readable | null {
    return this.config.terminal ? (this.#stdin?.readable() ?? null) : null;
  }

  /** The task's stdin as a stream (written in order with the stdin FIFO), or null. Ending it is {@link closeStdin}. */
  stdin(): Writable | null {
    return this.#stdin?.writable() ?? null;
  }

  /** The write end of the task's stdin pipe (non-terminal), this IO's own; null without one. See `InputFifo.pipeFd`. */
  stdinPipeFd(): number | null {
    return this.#stdin?.pipeFd() ?? null;
  }

  /**
   * Closes the task's stdin the way containerd's `CloseIO` does: taskio's keep-alive writer of the
   * stdin FIFO closes, the FIFO is read on until every client writer has closed too and all it holds
   * reached the task, and then the task reads EOF. Nothing a client wrote is dropped. Resolves at
   * once (a client still attached may keep writing); idempotent.
   */
  async closeStdin(): Promise<void> {
    await this.#stdin?.closeStdin();
  }

  /** Closes this process's copies of the fds in {@link stdio}; call once the runtime holds them. */
  closeChildFds(): void {
    this.#stdin?.closeChildFds();
    for (const s of this.#sinks) s.closeChildFds();
  }

  /**
   * After the task exited: resolves once its output is delivered — an output FIFO once a client
   * read all of it (then its keep-alive closes: the client's EOF), a log once written, a logger
   * once it exited. Unbounded by itself: bound it with a timeout and then {@link close}.
   */
  drain(): Promise<void> {
    this.#drained ??= (async () => {
      this.closeChildFds();
      await Promise.all(this.#sinks.map((s) => s.drain()));
    })();
    return this.#drained;
  }

  /** Releases everything now: fds, keep-alives, loggers (SIGTERM, then SIGKILL). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#stdin?.close();
      await Promise.all(this.#sinks.map((s) => s.close()));
    })();
    return this.#closed;
  }
}

/** Discards what is written: a terminal whose output has nowhere to go. */
function discard(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

/**
 * Checks {@link createIO}'s arguments before anything is opened. The id has no default: it is the
 * `CONTAINER_ID` a `binary://` logger files the output under, and the task the host's log names —
 * a made-up one would file a task's output under another's name.
 */
function checkArgs(config: unknown, opts: unknown): void {
  if (config === null || typeof config !== 'object' || typeof (config as Config).terminal !== 'boolean') {
    throw new TaskioError('ERR_INVALID_ARG_TYPE', `createIO's config must be an object { terminal, stdin, stdout, stderr }, got ${showValue(config)}`);
  }
  const id = opts !== null && typeof opts === 'object' ? (opts as CreateIOOptions).id : undefined;
  if (typeof id !== 'string') {
    throw new TaskioError('ERR_INVALID_ARG_TYPE', `createIO needs the task's id as its second argument ({ id }), got ${opts === null || typeof opts !== 'object' ? showValue(opts) : `id ${showValue(id)}`}`);
  }
  validateContainerId(id, 'task');
}

/**
 * Opens the process side of `config` (containerd's shim `createIO`): FIFO paths (plain or
 * `fifo://`), `file://` and `binary://`/`binary-v2://` URIs for output, `''` for `/dev/null`.
 * stdout's URI covers stderr too (stderr must then be the same URI or empty); stdin can only be a
 * FIFO or empty. A `binary://` logger is started and ready when this resolves.
 *
 * Throws `ERR_INVALID_ARG_TYPE` for a `config` that is no object or `opts` without the task's `id`
 * (`ERR_INVALID_ID` for one that breaks the id rule), `ERR_UNKNOWN_STDIO_SCHEME` for any other
 * scheme, `ERR_NOT_FIFO`/`ENOENT` for a FIFO path that is not one, `ERR_LOGGER_NOT_READY` for a
 * logger that fails, and releases whatever it opened.
 */
export async function createIO(config: Config, opts: CreateIOOptions): Promise<ProcessIO> {
  checkArgs(config, opts);
  const inT = parseTarget(config.stdin);
  const outT = parseTarget(config.stdout);
  const errT = config.terminal ? ({ kind: 'null' } as const) : parseTarget(config.stderr);
  if (inT.kind !== 'null' && inT.kind !== 'fifo') {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `stdin must be a FIFO path or empty, got ${JSON.stringify(config.stdin)}`);
  }
  const shared = outT.kind === 'file' || outT.kind === 'binary';
  if (shared && config.stderr !== '' && config.stderr !== config.stdout) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `stderr must be empty or the same as stdout (${config.stdout}) for a ${outT.kind} URI, got ${JSON.stringify(config.stderr)}`);
  }
  if (!shared && (errT.kind === 'file' || errT.kind === 'binary')) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `a ${errT.kind} URI for stderr needs the same URI for stdout, got ${JSON.stringify(config.stdout)}`);
  }

  let stdin: InputFifo | null = null;
  const sinks: OutputSink[] = [];
  // A log writer reports trouble after the IO exists (it opens its file on the first write).
  let made: ProcessIO | null = null;
  const logger = opts.logger ?? silentLogger;
  const onLogError = (err: Error): void => {
    logger.error({ err, id: opts.id, stdout: config.stdout }, 'task log cannot be written; output waits in the pipe');
    made?.emit('logError', err);
  };
  const onLogResume = (): void => {
    logger.info({ id: opts.id, stdout: config.stdout }, 'task log writable again');
    made?.emit('logResume');
  };
  try {
    if (inT.kind === 'fifo') stdin = new InputFifo(inT.path, config.terminal);
    const fds: StdioFd[] = [stdin?.childFd() ?? 'ignore', 'ignore', 'ignore'];
    let terminalOut: Writable | null = null;
    if (shared) {
      const sink = outT.kind === 'file'
        ? new FileSink(outT.url, onLogError, onLogResume)
        : await BinarySink.start(outT.path, outT.args, outT.requireReady, {
          id: opts.id, namespace: opts.namespace ?? 'default', readyTimeout: opts.readyTimeout ?? 10_000, grace: opts.loggerGrace ?? defaultLoggerGrace,
        });
      sinks.push(sink);
      if (config.terminal) terminalOut = sink.writable();
      else {
        fds[1] = sink.childFd('stdout');
        if (config.stderr !== '') fds[2] = sink.childFd('stderr');
      }
    } else {
      const fifoOpts = { keepOpen: opts.keepOpen !== false };
      if (outT.kind === 'fifo') {
        const sink = new OutputFifo(outT.path, fifoOpts);
        sinks.push(sink);
        if (config.terminal) terminalOut = sink.writable();
        else fds[1] = sink.childFd();
      }
      if (errT.kind === 'fifo') {
        const sink = new OutputFifo(errT.path, fifoOpts);
        sinks.push(sink);
        fds[2] = sink.childFd();
      }
      if (config.terminal && terminalOut === null) terminalOut = discard();
    }
    if (config.terminal) fds[0] = fds[1] = fds[2] = 'ignore';
    made = ProcessIO.fromParts({ ...config }, stdin, sinks, [fds[0]!, fds[1]!, fds[2]!], terminalOut);
    return made;
  } catch (err) {
    await stdin?.close();
    await Promise.all(sinks.map((s) => s.close()));
    throw err;
  }
}
