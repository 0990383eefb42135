import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { TaskioError } from '../errors.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY } = fs.constants;

/**
 * Writes `value` as JSON to `file` so that a reader (or a daemon started after a crash) sees either
 * the old content or the new, never a torn one: a temp file beside it (`O_EXCL|O_NOFOLLOW`, 0600),
 * fsync, rename over `file`. The directory is not fsynced: a rename is atomic for every process at
 * once, which is what a daemon crash needs, and the state root is a runtime directory (`/run`,
 * tmpfs) whose tasks do not survive a power loss anyway. The fsync runs on the threadpool (a
 * regular file, never a FIFO), so concurrent creates overlap instead of stalling the event loop.
 */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const fh = await fsp.open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, file);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
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
