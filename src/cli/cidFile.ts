import fs from 'node:fs';
import { TaskioError } from '../errors.js';

/**
 * docker's `--cidfile FILE` (`run`, `create`): the new task's id is written to FILE, for scripts.
 * As docker's, the file is made before the task — a file already there refuses the command before
 * anything is asked of the daemon — gets the id (without a newline) once the task exists, and is
 * removed again when no task was made. Made with `O_EXCL | O_NOFOLLOW`: never through a symlink,
 * never an existing file or FIFO opened. Relative paths are the command's (its working directory).
 * `rm` leaves it, as docker does: the daemon does not know the client's file.
 */
export class CidFile {
  readonly #file: string;
  #fd: number | null;
  #written = false;

  private constructor(file: string, fd: number) {
    this.#file = file;
    this.#fd = fd;
  }

  /**
   * Makes `file`, empty.
   * @throws TaskioError `ERR_ALREADY_EXISTS` when something is there (docker's message),
   *   `ERR_INVALID_ARG_VALUE` when it cannot be made (its directory missing, not writable).
   */
  static create(file: string): CidFile {
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
    try {
      // 0666 less the umask, as docker's os.Create; close-on-exec, as libuv opens every file.
      return new CidFile(file, fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o666));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new TaskioError('ERR_ALREADY_EXISTS', `task ID file found, make sure the other task isn't running or delete ${file}`, { cause: err });
      }
      throw new TaskioError('ERR_INVALID_ARG_VALUE', `failed to create the task ID file ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Writes the task's id, and keeps the file. A write that fails (a full disk) throws, naming the
   * file and the id; {@link close} then removes the file, as docker's does.
   */
  write(id: string): void {
    try {
      fs.writeSync(this.#fd!, id);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new TaskioError(code, `failed to write the task ID ${id} to ${this.#file}: ${(err as Error).message}`, { cause: err });
    }
    this.#written = true;
    this.close();
  }

  /**
   * The end of the command: a file that got no id — no task was made, or its id could not be
   * written — is removed, unless it is no longer the one made here (the path replaced meanwhile).
   */
  close(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    try {
      if (this.#written) return;
      const own = fs.fstatSync(fd);
      const there = fs.lstatSync(this.#file, { throwIfNoEntry: false });
      if (there !== undefined && there.dev === own.dev && there.ino === own.ino) fs.unlinkSync(this.#file);
    } finally {
      fs.closeSync(fd);
    }
  }
}
