import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { TaskioError } from '../errors.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = fs.constants;

/**
 * Writes `value` as JSON to `file` so that a reader (or a daemon started after a crash) sees either
 * the old content or the new, never a torn one: a temp file beside it (`O_EXCL|O_NOFOLLOW`, 0600),
 * fsync, rename over `file`, fsync of the directory so the rename itself survives a power loss.
 * Synchronous on purpose: it is a few hundred bytes on a local disk, and the state must be on disk
 * before the daemon answers.
 */
export function writeJsonAtomic(file: string, value: unknown): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    fs.writeFileSync(fd, `${JSON.stringify(value, null, 2)}\n`);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  const dfd = fs.openSync(dir, O_RDONLY | O_DIRECTORY);
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}

/**
 * Reads a JSON file written by {@link writeJsonAtomic} (`O_NOFOLLOW`: a symlink planted there is
 * refused). Returns null when the file does not exist.
 * @throws TaskioError `ERR_CORRUPT_STATE` naming the file when it is not valid JSON.
 */
export function readJson<T>(file: string): T | null {
  let text: string;
  try {
    const fd = fs.openSync(file, O_RDONLY | O_NOFOLLOW);
    try {
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new TaskioError('ERR_CORRUPT_STATE', `${file} is not valid JSON`, { cause });
  }
}
