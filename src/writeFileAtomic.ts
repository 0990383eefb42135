import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

/**
 * Writes `text` to `file` so that a reader sees either the old content or the new, never a torn
 * one, and so that nothing already at `file` is opened: a temp file beside it (`O_EXCL|O_NOFOLLOW`,
 * so it is always a new regular file, created with `mode` under the umask) renamed over `file`.
 * A rename replaces a symlink or FIFO planted at `file` instead of following or opening it — an
 * `open(2)` of a FIFO would wait for a reader for ever, and of a symlink would write its target
 * (runc writes its pid file this way for the same reasons). The rename is atomic for every process
 * at once. No fsync: see `writeJsonAtomic` (src/daemon/atomicJson.ts) for why none of taskio's
 * callers need one. On failure the temp file is removed and the error thrown.
 */
export function writeFileAtomic(file: string, text: string, mode = 0o600): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    try {
      fs.writeFileSync(fd, text);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
