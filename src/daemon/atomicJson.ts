import { TaskioError } from '../errors.js';
import { readRegularFileSync } from '../readRegularFile.js';
import { writeFileAtomic } from '../writeFileAtomic.js';

/**
 * Writes `value` as JSON to `file` so that a reader (or a daemon started after a crash) sees either
 * the old content or the new, never a torn one: {@link writeFileAtomic}, a temp file beside it
 * (`O_EXCL|O_NOFOLLOW`, 0600) renamed over `file`. A rename is atomic for every process at once,
 * which is what a daemon crash needs. There is no fsync, as runc has none for its own `state.json` (temp file, close, rename):
 * the state root is runtime state (the OCI runtime spec wants it on a temporary file system), and
 * no task it describes outlives the power loss an fsync would guard against. An fsync cost
 * 1–14 ms per write here (ext4 under load), three writes per task — much of what the daemon added
 * to a runtime's own create, start and delete. Without it the write is a few syscalls
 * into the page cache, done synchronously: a threadpool round trip per syscall cost more.
 */
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Reads a JSON file written by {@link writeJsonAtomic}, with {@link readRegularFileSync}: a symlink
 * planted there is refused (`ELOOP`), and so is a FIFO, without waiting in `open` for a writer (a
 * daemon adopting its tasks at start would hang there). Returns null when the file does not exist.
 * @throws TaskioError `ERR_CORRUPT_STATE` naming the file when it is not a regular file or not
 *   valid JSON.
 */
export function readJson<T>(file: string): T | null {
  let text: string | null;
  try {
    text = readRegularFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (text === null) throw new TaskioError('ERR_CORRUPT_STATE', `${file} is not a regular file`);
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new TaskioError('ERR_CORRUPT_STATE', `${file} is not valid JSON`, { cause });
  }
}
