/**
 * `taskio/logs`: task logs without the rest of taskio. The client side builds log URIs (`file://`,
 * `binary://`) for a task host; the process side writes task output as raw or CRI logs with rotation
 * ({@link openLogWriter}); {@link followLog} reads a log across rotations, each entry once; and
 * {@link runLoggingDriver} is containerd's `logging.Run` for a `binary://` logger written in Node;
 * {@link runCriLogger} is the example CRI logger built on it, started through the launcher that
 * {@link writeCriLoggerLauncher} writes (`dist/logfile/cri-logger`, {@link defaultCriLoggerLauncher}).
 *
 * Nothing here loads native code: it works on every platform Node runs on (the writers and the
 * follower use only `node:fs`).
 * @packageDocumentation
 */
export {
  type CopyFromOptions, type FollowLogOptions, type LogEntry, type LogFormat, type LogGap, type LoggingDriverConfig,
  type LoggingDriverFn, type LoggingDriverOptions, type LogStreamName, type LogWriterOptions, type ParsedLogOptions,
  LogWriter, binaryIO, defaultCriLoggerLauncher, defaultDrainTimeoutMs, followLog, followLogBatches, logFile, logURI, logURIGenerator,
  loggingDriverFds, openLogWriter, parseLogOptions, runCriLogger, runLoggingDriver, terminalBinaryIO, terminalLogURI,
  writeCriLoggerLauncher,
} from './logfile/index.js';
