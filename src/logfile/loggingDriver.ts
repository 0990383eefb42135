import fs from 'node:fs';
import net from 'node:net';
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
  /** Aborted when the logger is asked to stop (SIGTERM or SIGINT). */
  signal: AbortSignal;
}

/**
 * The body of a logging driver: copy `config.stdout`/`stderr` somewhere, call `ready()` once set
 * up (the runtime waits for it before it starts the task), and resolve when the output has ended.
 */
export type LoggingDriverFn = (config: LoggingDriverConfig, ready: () => void) => Promise<void> | void;

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
 * SIGTERM and SIGINT abort `config.signal` instead of killing the logger mid-write.
 *
 * Throws `ERR_NOT_LOGGING_DRIVER` when fds 3–5 are not open, and whatever `fn` throws.
 */
export async function runLoggingDriver(fn: LoggingDriverFn): Promise<void> {
  const { stdout: outFd, stderr: errFd, ready: readyFd } = loggingDriverFds;
  checkFd(outFd, 'task stdout');
  checkFd(errFd, 'task stderr');
  checkFd(readyFd, 'ready pipe');
  const ac = new AbortController();
  const onSignal = (): void => ac.abort(new TaskioError('ERR_LOGGER_STOPPED', 'the logging driver was asked to stop'));
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
    id: process.env.CONTAINER_ID ?? '',
    namespace: process.env.CONTAINER_NAMESPACE ?? '',
    get stdout() { return socket('stdout', outFd); },
    get stderr() { return socket('stderr', errFd); },
    stdoutFd: outFd,
    stderrFd: errFd,
    signal: ac.signal,
  };
  try {
    await fn(config, ready);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    // Never leave the runtime waiting on fd 5: EOF without a byte says "did not call ready".
    if (!readyDone) {
      readyDone = true;
      fs.closeSync(readyFd);
    }
  }
}
