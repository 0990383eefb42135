/**
 * The launcher of the example CRI logger: an executable whose `#!` line is the absolute path of a
 * node binary, so the logger starts with no `PATH` at all. containerd starts a `binary://` logger
 * with only `CONTAINER_ID` and `CONTAINER_NAMESPACE` in its environment, and
 * `#!/usr/bin/env node` then finds node only where it lies in env's built-in path (`/bin:/usr/bin`),
 * not under `/usr/local/bin`, nvm or a version manager.
 *
 * `npm run build` runs this file, which writes `dist/logfile/cri-logger` for the node that built
 * the package. To use another node (or after installing the package on another machine):
 *
 * ```
 * /abs/path/to/node node_modules/taskio/dist/logfile/criLoggerLauncher.js [target] [node]
 * ```
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TaskioError } from '../errors.js';
import { isMainModule } from './isMain.js';

const loggerModule = fileURLToPath(new URL('./criLogger.js', import.meta.url));

/** Where `npm run build` writes the launcher: `cri-logger` beside `criLogger.js`. */
export const defaultCriLoggerLauncher = path.join(path.dirname(loggerModule), 'cri-logger');

// Linux reads a `#!` line from the first 256 bytes of the file since 5.1, 128 before: stay under both.
const maxShebang = 127;

function badArg(what: string, value: string, why: string): TaskioError {
  return new TaskioError('ERR_INVALID_ARG_VALUE', `${what} ${JSON.stringify(value)} ${why}`);
}

/**
 * Writes the launcher at the absolute `file` (replacing what is there, by rename, never writing
 * through a symlink), mode 0755, for the node binary at the absolute `node`. Returns `file`.
 * The launcher loads `criLogger.js` from beside itself when it sits in `dist/logfile`, else by
 * absolute path (so write it again when the package moves).
 *
 * Throws `ERR_INVALID_LOG_PATH` for a relative `file`, `ERR_INVALID_ARG_VALUE` for a `node` that is
 * not an absolute path usable in a `#!` line (no whitespace, at most 127 bytes) or not executable.
 */
export function writeCriLoggerLauncher(file: string = defaultCriLoggerLauncher, node: string = process.execPath): string {
  if (!path.isAbsolute(file)) throw new TaskioError('ERR_INVALID_LOG_PATH', `launcher path ${JSON.stringify(file)} must be absolute`);
  if (!path.isAbsolute(node)) throw badArg('node', node, 'must be an absolute path');
  if (/\s/.test(node)) throw badArg('node', node, 'cannot stand in a #! line (it holds whitespace)');
  if (Buffer.byteLength(node) + 2 > maxShebang) throw badArg('node', node, `is longer than a #! line allows (${maxShebang} bytes)`);
  let executable = false;
  try {
    fs.accessSync(node, fs.constants.X_OK);
    executable = fs.statSync(node).isFile();
  } catch {
    // Missing or not executable: said below.
  }
  if (!executable) throw badArg('node', node, 'is not an executable file');
  const specifier = path.dirname(file) === path.dirname(loggerModule) ? './criLogger.js' : pathToFileURL(loggerModule).href;
  const text = [
    `#!${node}`,
    '// Written by taskio (dist/logfile/criLoggerLauncher.js): the example CRI logger, started by the',
    '// node named above so that it needs no PATH (containerd gives binary:// loggers none).',
    `import(${JSON.stringify(specifier)}).then((m) => m.runCriLogger());`,
    '',
  ].join('\n');
  // A fresh name (O_EXCL: never through a planted symlink), then a rename over the target.
  const tmp = `${file}.${crypto.randomBytes(6).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, text, { mode: 0o755, flag: 'wx' });
    fs.chmodSync(tmp, 0o755); // past the umask
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return file;
}

if (isMainModule(import.meta.url)) {
  try {
    const [file, node] = process.argv.slice(2);
    const written = writeCriLoggerLauncher(file || undefined, node || undefined);
    // Quiet in the build; say where it went when asked for a place.
    if (file) console.log(written);
  } catch (err) {
    console.error(`criLoggerLauncher: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
