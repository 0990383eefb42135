import type { Logger } from 'pino';

/** What taskio's own code logs with: the four levels it uses. A pino `Logger` is one. */
export type LogSink = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

const discard = (): void => {};

/**
 * The package's own structured log when a caller passes no logger: it drops everything, as pino
 * at level `silent` does, without loading pino — a program that imports taskio and never logs
 * should not carry a logging library in its heap (see README, "Copied sinks and V8's garbage collector").
 */
export const silentLogger: LogSink = { debug: discard, info: discard, warn: discard, error: discard };

export type { Logger };
