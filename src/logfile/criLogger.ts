#!/usr/bin/env node
/**
 * An example `binary://` logging driver that writes a task's output as a CRI log.
 *
 * After `npm run build` it is `dist/logfile/criLogger.js`; point a log URI at it:
 *
 * ```
 * binary:///abs/path/dist/logfile/criLogger.js?path=/var/log/task.log&maxSize=10MB&maxFiles=5
 * ```
 *
 * The runtime passes the query as arguments the way containerd's shim does (`key value` pairs,
 * here `maxFiles 5 maxSize 10MB path /var/log/task.log`); `--key value` and `--key=value` work too.
 * Keys: `path` (required, absolute), `format` (default `cri`), `maxSize`, `maxFiles`, `maxLineSize`.
 */
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { TaskioError } from '../errors.js';
import { runLoggingDriver } from './loggingDriver.js';
import { openLogWriter } from './logWriter.js';
import { parseLogOptions, type ParsedLogOptions } from './options.js';
import { requireAbsolutePath } from './absolutePath.js';

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

/** Runs the example logger with `args` (the process arguments after the script). */
export async function criLoggerMain(args: string[]): Promise<void> {
  const { path: file, ...opts } = parseCriLoggerArgs(args);
  await runLoggingDriver(async (config, ready) => {
    const writer = openLogWriter(file, opts);
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
      if (!config.signal.aborted) throw err;
    } finally {
      await writer.close();
    }
  });
}

// Run only as a program, not when imported (tests and the bench import the functions above).
const self = process.argv[1];
if (self !== undefined && import.meta.url === pathToFileURL(fs.realpathSync(self)).href) {
  criLoggerMain(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`cri-logger: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
