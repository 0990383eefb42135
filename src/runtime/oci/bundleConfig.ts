import fs from 'node:fs';
import path from 'node:path';
import { TaskioError, showValue } from '../../errors.js';

function invalid(bundle: string, why: string, cause?: unknown): TaskioError {
  return new TaskioError('ERR_INVALID_BUNDLE', `bundle ${bundle} ${why}`, cause === undefined ? undefined : { cause });
}

/**
 * Opens a bundle's `config.json` without ever blocking and checks that it is a regular file: a FIFO
 * planted there would hold whoever reads it (runsc, runc, or this thread for the host backend)
 * until someone writes to it. Never through a symlink (`O_NOFOLLOW`), as the daemon reads a
 * client's bundle: a link would make taskio read, with its rights, a file the bundle's owner may not
 * (runc itself follows one; taskio refuses the bundle before any runtime sees it). The bundle's
 * own path may contain links. Returns the open fd (the caller closes it) and the absolute path.
 * @throws TaskioError `ERR_INVALID_BUNDLE` naming the bundle: not a path, no `config.json`, one
 * that is a symlink, or one that is not a regular file.
 */
function openConfig(bundle: string): { fd: number; file: string } {
  if (typeof bundle !== 'string' || bundle === '' || bundle.includes('\0')) {
    throw new TaskioError('ERR_INVALID_BUNDLE', `invalid bundle path ${showValue(bundle)}`);
  }
  const dir = path.resolve(bundle);
  const file = path.join(dir, 'config.json');
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw invalid(dir, 'has no config.json', err);
    // ELOOP is also a loop of links in the bundle's own path: only a link at config.json is named so.
    if (code === 'ELOOP' && isSymlink(file)) throw invalid(dir, 'has a config.json that is a symlink', err);
    throw invalid(dir, `has no readable config.json (${(err as Error).message})`, err);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw invalid(dir, 'has a config.json that is not a regular file');
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return { fd, file };
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Checks a bundle before any runtime is given it (see {@link readBundleConfig}); returns the
 * absolute bundle directory.
 */
export function checkBundle(bundle: string): string {
  const { fd, file } = openConfig(bundle);
  fs.closeSync(fd);
  return path.dirname(file);
}

/**
 * Reads and parses a bundle's `config.json`, opened without blocking and only when it is a regular
 * file.
 * @throws TaskioError `ERR_INVALID_BUNDLE` naming the bundle (missing, not a regular file, not JSON).
 */
export function readBundleConfig(bundle: string): unknown {
  const { fd, file } = openConfig(bundle);
  try {
    return JSON.parse(fs.readFileSync(fd, 'utf8')) as unknown;
  } catch (cause) {
    throw new TaskioError('ERR_INVALID_BUNDLE', `cannot read ${file}: ${(cause as Error).message}`, { cause });
  } finally {
    fs.closeSync(fd);
  }
}
