import fs from 'node:fs';
import { isNotRegularOpenError, notRegularFile, notRegularFileAt } from '../../notRegularFile.js';

const asPidFile = { file: 'pid file' };

/**
 * Reads the pid a runtime wrote; 0 when the file is missing or empty. The file is opened
 * `O_NOFOLLOW | O_NONBLOCK`: a symlink planted there cannot redirect the read, and a FIFO cannot
 * block one of libuv's threadpool threads (or this one) waiting for a writer.
 * @throws TaskioError `ERR_NOT_REGULAR_FILE` naming a symlink, FIFO, socket or anything else that
 * is not a regular file; system errors other than `ENOENT`.
 */
export function readPidFile(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    if (isNotRegularOpenError(err)) throw notRegularFileAt(file, err, asPidFile);
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw notRegularFile(file, st, asPidFile);
    const buf = Buffer.alloc(32);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const pid = Number.parseInt(buf.subarray(0, n).toString('utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } finally {
    fs.closeSync(fd);
  }
}
