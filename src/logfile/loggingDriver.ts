import fs from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';
import { TaskioError } from '../errors.js';

/** The file descriptors a `binary://` logger is started with (containerd's shim convention). */
export const loggingDriverFds = { stdout: 3, stderr: 4, ready: 5 } as const;

/** What a logging driver is given: the task's identity and output. */
export interface LoggingDriverConfig {
  /** `CONTAINER_ID` from the environment. */
  id: string;
  /** `CONTAINER_NAMESPACE` from the environment. */
  namespace: string;
  /** The task's stdout (fd 3) as a stream; created on first use. Use this or `stdoutFd`, not both. */
  readonly stdout: net.Socket;
  /** The task's stderr (fd 4) as a stream; created on first use. Use this or `stderrFd`, not both. */
  readonly stderr: net.Socket;
  /** fd 3 itself, for a copy that reads it directly (`LogWriter.copyFrom`). */
  stdoutFd: number;
  /** fd 4 itself. */
  stderrFd: number;
  /**
   * Aborted when the runtime stops the logger (SIGTERM; SIGINT too, for a logger run by hand). It
   * means **the input is ending**: the runtime has closed its ends of the pipes, and what is still
   * in them arrives before EOF. Keep reading to EOF; use this only to stop other work (a retry loop,
   * a timer).
   */
  stopping: AbortSignal;
  /**
   * Aborted when the logger must give up on its input: `drainTimeoutMs` after {@link stopping}
   * while `fn` still runs (a process that outlived the task may hold a pipe open, so EOF never
   * comes). Pass this to copies (`copyFrom(…, { signal })`): they read to EOF and stop only then.
   */
  signal: AbortSignal;
}

/**
 * The body of a logging driver: copy `config.stdout`/`stderr` somewhere, call `ready()` once set
 * up (the runtime waits for it before it starts the task), and resolve when the output has ended.
 */
export type LoggingDriverFn = (config: LoggingDriverConfig, ready: () => void) => Promise<void> | void;

/** Options of {@link runLoggingDriver}. */
export interface LoggingDriverOptions {
  /**
   * How long after SIGTERM the driver may go on reading before {@link LoggingDriverConfig.signal}
   * aborts (default 10 s). containerd's shim SIGKILLs a logger 12 s after SIGTERM; 10 s leaves the
   * logger 2 s to flush and exit on its own, so its last entry is never cut by SIGKILL. taskio's own
   * runtime core (`createIO`'s `loggerGrace`) waits 12 s too.
   */
  drainTimeoutMs?: number;
  /** Where the driver reports trouble (a drain that hit its bound): default pino at `warn` on stderr, the runtime's log. */
  logger?: Logger;
}

/** See {@link LoggingDriverOptions.drainTimeoutMs}. */
export const defaultDrainTimeoutMs = 10_000;

function checkFd(fd: number, what: string): void {
  try {
    fs.fstatSync(fd);
  } catch {
    throw new TaskioError('ERR_NOT_LOGGING_DRIVER',
      `fd ${fd} (${what}) is not open: a logging driver must be started through a binary:// log URI`);
  }
}

/**
 * The counterpart of containerd's `logging.Run`, for a logger program started by a `binary://`
 * (or `binary-v2://`) log URI: the task's stdout is on fd 3, its stderr on fd 4, and fd 5 is the
 * ready pipe. Runs `fn` with those as streams and `CONTAINER_ID` / `CONTAINER_NAMESPACE`;
 * `ready()` writes one byte to fd 5 and closes it (a `binary://` runtime accepts the close alone,
 * `binary-v2` requires the byte). When `fn` fails before calling `ready()`, fd 5 is closed without
 * a byte, so the runtime reports that the logger did not call ready instead of waiting forever.
 *
 * **What SIGTERM means.** containerd's shim stops a logger by closing its ends of the pipes and
 * sending SIGTERM 50–90 ms later; it then waits 12 s before SIGKILL. The output still in the pipes
 * is the end of the task's output, so SIGTERM (and SIGINT) is not a reason to stop reading: it
 * aborts `config.stopping`, and the driver goes on until its input reaches EOF. Only when `fn` has
 * not returned `drainTimeoutMs` (10 s) later does `config.signal` abort, with a warning on the
 * logger. A driver that copies with `signal` therefore logs every line the task wrote and exits 0.
 * Once `fn` has settled, SIGTERM and SIGINT exit the process at once with the exit code set so far
 * (a signal landing while the logger exits must not make a clean exit look like a kill).
 *
 * Throws `ERR_NOT_LOGGING_DRIVER` when fds 3–5 are not open, and whatever `fn` throws.
 */
export async function runLoggingDriver(fn: LoggingDriverFn, opts: LoggingDriverOptions = {}): Promise<void> {
  const { stdout: outFd, stderr: errFd, ready: readyFd } = loggingDriverFds;
  const drainTimeoutMs = opts.drainTimeoutMs ?? defaultDrainTimeoutMs;
  if (!Number.isSafeInteger(drainTimeoutMs) || drainTimeoutMs < 0) {
    throw new TaskioError('ERR_OUT_OF_RANGE', `drainTimeoutMs must be a whole number of ms ≥ 0, got ${String(drainTimeoutMs)}`);
  }
  checkFd(outFd, 'task stdout');
  checkFd(errFd, 'task stderr');
  checkFd(readyFd, 'ready pipe');
  const id = process.env.CONTAINER_ID ?? '';
  const namespace = process.env.CONTAINER_NAMESPACE ?? '';
  // Loaded from the start (the signal handlers below go on first, with no await before them), and
  // ready long before the drain bound: the warning is written just before giving up.
  const log = opts.logger !== undefined ? Promise.resolve(opts.logger) : stderrLogger();
  log.catch(() => {}); // a pino that cannot load costs the warning, not the driver
  const stopping = new AbortController();
  const giveUp = new AbortController();
  let drainTimer: NodeJS.Timeout | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping.signal.aborted) return;
    stopping.abort(new TaskioError('ERR_LOGGER_STOPPING', `the logging driver got ${sig}: its input is ending`));
    drainTimer = setTimeout(() => {
      const warn = (l: Logger): void => l.warn({ id, namespace, signal: sig, drainTimeoutMs },
        `logging driver: input did not end within ${drainTimeoutMs} ms after ${sig}; stopping, output still in the pipes is not logged`);
      void log.then(warn).catch(() => {}).then(() => {
        giveUp.abort(new TaskioError('ERR_LOGGER_STOPPED', `the logging driver stopped waiting for the end of its input ${drainTimeoutMs} ms after ${sig}`));
      });
    }, drainTimeoutMs);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let readyDone = false;
  const ready = (): void => {
    if (readyDone) return;
    readyDone = true;
    try {
      fs.writeSync(readyFd, Buffer.from([0]));
    } finally {
      fs.closeSync(readyFd);
    }
  };
  const sockets: Partial<Record<'stdout' | 'stderr', net.Socket>> = {};
  const socket = (name: 'stdout' | 'stderr', fd: number): net.Socket =>
    (sockets[name] ??= new net.Socket({ fd, readable: true, writable: false }));
  const config: LoggingDriverConfig = {
    id,
    namespace,
    get stdout() { return socket('stdout', outFd); },
    get stderr() { return socket('stderr', errFd); },
    stdoutFd: outFd,
    stderrFd: errFd,
    stopping: stopping.signal,
    signal: giveUp.signal,
  };
  try {
    await fn(config, ready);
  } finally {
    clearTimeout(drainTimer);
    // The exit listeners go on before the driver's come off: with no listener at all for a moment,
    // Node puts back the default action and a SIGTERM landing then would kill the logger.
    exitOnStopFromNowOn();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    // Never leave the runtime waiting on fd 5: EOF without a byte says "did not call ready".
    if (!readyDone) {
      readyDone = true;
      fs.closeSync(readyFd);
    }
  }
}

let exitsOnStop = false;

/**
 * Once the driver is done, its output is flushed and the program is on its way out: a SIGTERM that
 * lands now (the shim signals 50–90 ms after closing the pipes, often just as the logger exits)
 * must not turn that clean exit into death by a signal. From now on SIGTERM and SIGINT end the
 * process at once with the exit code set so far (0 unless the program set one). Signal listeners
 * do not keep the event loop alive, so the program still exits on its own.
 */
function exitOnStopFromNowOn(): void {
  if (exitsOnStop) return;
  exitsOnStop = true;
  const exit = (): void => process.exit();
  process.on('SIGTERM', exit);
  process.on('SIGINT', exit);
}

/**
 * pino on stderr, written synchronously so a warning is out before the logger exits. Loaded here,
 * in the driver's own process, not with the module.
 */
async function stderrLogger(): Promise<Logger> {
  const { pino } = await import('pino');
  return pino({ name: 'taskio-logging-driver', level: 'warn' }, pino.destination({ fd: 2, sync: true }));
}
