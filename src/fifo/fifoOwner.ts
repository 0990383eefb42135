import fs from 'node:fs';
import path from 'node:path';
import { TaskioError } from '../errors.js';
import { notPrivate } from '../privateDir.js';

/**
 * Linux's `O_PATH` (Node has no constant for it): an fd naming a directory without opening it for
 * reading, so a directory this user may search but not list works too.
 */
const O_PATH = 0o10000000;

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/**
 * Refuses a FIFO another user could have planted, given its `fstat` (after the open: what was
 * opened, not what a path named before) or its `lstat` (before an open, for an early error):
 *
 * - writable by others (`mode & 0o002`): anyone could feed it. taskio makes FIFOs 0600, containerd
 *   0700.
 * - owned by neither this process's effective uid nor root — unless it lies in a directory only
 *   this user or root can write. A runtime hands a task's FIFOs over to the task's user: runsc
 *   chowns the stdio it is given to its sandbox user (65534), runc to a non-root process user (so
 *   that it can open `/dev/stdout`). Such a FIFO sits in the set's private directory, where no other
 *   user could have made it; one in a directory another user can write (a shared `/tmp` directory,
 *   a FIFO directory set up wrong) may be that user's, who then reads the task's output or feeds it
 *   fake input. The directory is checked through an fd of its own, and the FIFO must be the very
 *   file (device and inode) that directory holds under its name: a directory swapped for another
 *   between the checks proves nothing.
 *
 * Root's FIFOs are trusted by a taskio that is not root too: root can read and write every FIFO of
 * this user anyway, so trusting what root made adds nobody who could not already do it — and a set
 * made by a root supervisor (containerd) for this user is attached to as it is.
 * @throws TaskioError `ERR_UNSAFE_DIR` (the code of every location another user could control)
 *   naming the path, the owner's uid and the mode.
 */
export function checkFifoOwner(fifoPath: string, st: fs.Stats): void {
  if ((st.mode & 0o002) !== 0) throw unsafeFifo(fifoPath, `it is writable by others (mode ${octal(st.mode)}, owner uid ${st.uid})`);
  const uid = process.geteuid?.() ?? st.uid;
  if (st.uid === uid || st.uid === 0) return;
  const dir = path.dirname(path.resolve(fifoPath));
  const why = dirNotPrivate(dir, path.basename(fifoPath), st);
  if (why === '') return;
  const who = uid === 0 ? 'not by uid 0' : `neither by uid ${uid} nor by root`;
  throw unsafeFifo(fifoPath, `it is owned by uid ${st.uid} (mode ${octal(st.mode)}), ${who}, and another user could have put it in ${dir}: ${why}`);
}

/** Why `dir` does not prove that the FIFO `name` in it (`st`) was put there by this user or root; `''` when it does. */
function dirNotPrivate(dir: string, name: string, st: fs.Stats): string {
  let fd: number;
  try {
    fd = fs.openSync(dir, O_PATH | fs.constants.O_DIRECTORY);
  } catch (err) {
    return `it cannot be checked (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  try {
    const dst = fs.fstatSync(fd);
    // This user's or root's, and nobody else's to write in.
    const why = notPrivate(dst, dst.uid === 0 ? 0 : process.geteuid?.() ?? dst.uid);
    if (why !== '') return why;
    // The name looked up in that very directory (the fd's, whatever its path names by now).
    const entry = fs.lstatSync(`/proc/self/fd/${fd}/${name}`, { throwIfNoEntry: false });
    if (entry?.dev !== st.dev || entry.ino !== st.ino) return 'the FIFO opened is not the one it holds under that name';
    return '';
  } finally {
    fs.closeSync(fd);
  }
}

function unsafeFifo(fifoPath: string, why: string): TaskioError {
  return new TaskioError('ERR_UNSAFE_DIR', `refusing FIFO ${JSON.stringify(fifoPath)}: ${why}`);
}
