#!/usr/bin/env node
/**
 * An example `binary://` logging driver that writes a task's output as a CRI log.
 *
 * After `npm run build` it is `dist/logfile/criLogger.js`, and `dist/logfile/cri-logger` is its
 * launcher: the same logger started by the absolute path of the node that built it, so it runs
 * without a `PATH` (containerd starts loggers with none). Point a log URI at the launcher:
 *
 * ```
 * binary:///abs/path/dist/logfile/cri-logger?path=/var/log/task.log&maxSize=10MB&maxFiles=5
 * ```
 *
 * The runtime passes the query as arguments the way containerd's shim does (`key value` pairs,
 * here `maxFiles 5 maxSize 10MB path /var/log/task.log`); `--key value` and `--key=value` work too.
 * Keys: `path` (required, absolute), `format` (default `cri`), `maxSize`, `maxFiles`, `maxLineSize`.
 */
import { pathToFileURL } from 'node:url';
import { TaskioError } from '../errors.js';
import { runLoggingDriver, type LoggingDriverOptions } from './loggingDriver.js';
import { openLogWriter } from './logWriter.js';
import { parseLogOptions, type ParsedLogOptions } from './options.js';
import { requireAbsolutePath } from './absolutePath.js';
import { isMainModule } from './isMain.js';

/**
 * Reads the logger's arguments into log options, checked exactly as a `file://` URI's query is
 * (`ERR_INVALID_LOG_OPTION` naming a bad key or value).
 */
export function parseCriLoggerArgs(args: string[]): ParsedLogOptions {
  const pairs: [string, string][] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!.replace(/^--?/, '');
    const eq = arg.indexOf('=');
    if (eq >= 0) pairs.push([arg.slice(0, eq), arg.slice(eq + 1)]);
    else pairs.push([arg, args[++i] ?? '']);
  }
  const file = pairs.find(([k]) => k === 'path')?.[1];
  if (!file) throw new TaskioError('ERR_INVALID_LOG_OPTION', 'the logger needs a path argument (path /abs/file.log)');
  const url = pathToFileURL(requireAbsolutePath(file));
  url.searchParams.set('format', 'cri');
  for (const [k, v] of pairs) if (k !== 'path') url.searchParams.set(k, v);
  return parseLogOptions(url);
}

/**
 * Runs the example logger with `args` (the process arguments after the script). SIGTERM does not
 * cut the log short: both copies read to EOF (the runtime closed its ends before signalling), the
 * log is flushed, and the logger exits 0. Only when the input has not ended `drainTimeoutMs` after
 * SIGTERM (default 10 s) do the copies stop, with a warning on stderr; a line cut there is a `P`
 * entry. See {@link runLoggingDriver}.
 */
export async function criLoggerMain(args: string[], opts: LoggingDriverOptions = {}): Promise<void> {
  const { path: file, ...logOpts } = parseCriLoggerArgs(args);
  await runLoggingDriver(async (config, ready) => {
    const writer = openLogWriter(file, logOpts);
    // The logger's own stderr is the runtime's log: a full disk is reported there, output waits.
    writer.on('error', (err: Error) => console.error(`cri-logger ${config.namespace}/${config.id}: ${err.message}`));
    const copies = Promise.all([
      writer.copyFrom('stdout', config.stdoutFd, { signal: config.signal }),
      writer.copyFrom('stderr', config.stderrFd, { signal: config.signal }),
    ]);
    ready();
    try {
      await copies;
    } catch (err) {
      // Gave up waiting for EOF (warned already): what was read is logged, exit 0.
      if (!config.signal.aborted) throw err;
    } finally {
      await writer.close();
    }
  }, opts);
}

/**
 * The logger as a program: arguments from `process.argv`, a failure reported on stderr with exit
 * code 1. `dist/logfile/criLogger.js` runs it when started directly, and so does the launcher
 * that `npm run build` writes (`dist/logfile/cri-logger`, see `writeCriLoggerLauncher`).
 */
export function runCriLogger(): Promise<void> {
  return criLoggerMain(process.argv.slice(2)).then(() => {
    // Exit now rather than when the event loop drains: Node's teardown closes its signal watchers,
    // which puts back the default action for SIGTERM, and the shim's SIGTERM often lands just then
    // (it follows the close of the pipes by 50–90 ms); that would turn a clean exit into a kill.
    // Everything is written: the log is closed and stderr is synchronous.
    process.exit();
  }, (err: unknown) => {
    console.error(`cri-logger: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}

// Run only as a program, not when imported (tests, the bench and the launcher import it).
if (isMainModule(import.meta.url)) void runCriLogger();
