/** Task logs: log URIs for the client, log writers and a follow reader, logging drivers. */
export { binaryIO, logFile, logURI, logURIGenerator, terminalBinaryIO, terminalLogURI } from './uri.js';
export { requireAbsolutePath } from './absolutePath.js';
export {
  type LogFormat, type LogStreamName, type LogWriterOptions, type ParsedLogOptions,
  defaultMaxFiles, defaultMaxLineSize, parseLogOptions, parseSize, validateLogWriterOptions,
} from './options.js';
export { type CopyFromOptions, LogWriter, openLogWriter } from './logWriter.js';
export { type FollowLogOptions, type LogEntry, followLog, followLogBatches } from './followLog.js';
export { type LogGap } from './heldFiles.js';
export {
  type LoggingDriverConfig, type LoggingDriverFn, type LoggingDriverOptions,
  defaultDrainTimeoutMs, loggingDriverFds, runLoggingDriver,
} from './loggingDriver.js';
export { criLoggerMain, parseCriLoggerArgs, runCriLogger } from './criLogger.js';
export { defaultCriLoggerLauncher, writeCriLoggerLauncher } from './criLoggerLauncher.js';
