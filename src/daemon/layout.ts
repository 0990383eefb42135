import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TaskioError } from '../errors.js';
import { validateId } from '../ids.js';
import { isWithin } from '../pathWithin.js';

/**
 * The default state root of the daemon: `$TASKIO_ROOT`, else `/run/taskio` for root, else
 * `$XDG_RUNTIME_DIR/taskio` (or a per-user directory under the OS temp dir without it).
 */
export function defaultDaemonRoot(): string {
  if (process.env.TASKIO_ROOT) return path.resolve(process.env.TASKIO_ROOT);
  if (process.getuid?.() === 0) return '/run/taskio';
  const base = process.env.XDG_RUNTIME_DIR || path.join(os.tmpdir(), `taskio-${process.getuid?.() ?? 'user'}`);
  return path.join(base, 'taskio');
}

/** `sun_path` holds 108 bytes on Linux, its NUL included. */
const maxSocketPathBytes = 107;

/**
 * Where everything of one daemon lives under its state root. Every path built from a task id goes
 * through {@link validateId} first, so no id can name anything outside `tasks/`.
 *
 * ```
 * <root>/daemon.lock          flock: one daemon per root (holds the daemon's pid)
 * <root>/taskio.sock          the HTTP API (0600)
 * <root>/daemon.log           stdio of a daemon started on demand
 * <root>/rootfs/busybox/      the embedded default bundle (rootfs/ read-only for tasks)
 * <root>/runtime/<name>/      runsc's / runc's --root
 * <root>/fifo/                the FIFO sets clients make for execs (cio's Creator); a killed client's go (ExecFifoSweeper)
 * <root>/tasks/<id>/          task.json, exit, bundle/, <id>-stdin|-stdout|-stderr, <id>.log
 * <root>/tasks/<id>/execs/    the pid files of its execs: gone with their records, all by its exit (ExecRecords)
 * <root>/exits/               the exit recorder's records of what a dead daemon left (recordedExits.ts)
 * ```
 */
export class DaemonLayout {
  /**
   * @throws TaskioError `ERR_INVALID_ARG_VALUE` for a root whose socket path does not fit a unix
   * socket address (107 bytes): Node would bind and connect to the path cut short, outside the root.
   */
  constructor(readonly root: string) {
    const bytes = Buffer.byteLength(this.socket);
    if (bytes > maxSocketPathBytes) {
      throw new TaskioError('ERR_INVALID_ARG_VALUE', `state root ${root} is too long: its socket ${this.socket} would be ${bytes} bytes, a unix socket path takes at most ${maxSocketPathBytes}`);
    }
  }

  get socket(): string { return path.join(this.root, 'taskio.sock'); }
  get lock(): string { return path.join(this.root, 'daemon.lock'); }
  get daemonLog(): string { return path.join(this.root, 'daemon.log'); }
  get tasks(): string { return path.join(this.root, 'tasks'); }
  get rootfs(): string { return path.join(this.root, 'rootfs'); }
  get busyboxBundle(): string { return path.join(this.rootfs, 'busybox'); }
  get fifo(): string { return path.join(this.root, 'fifo'); }

  /** runsc's or runc's state directory (`--root`), private to this daemon. */
  runtimeRoot(name: string): string {
    return path.join(this.root, 'runtime', name);
  }

  /** `<root>/tasks/<id>`; throws `ERR_INVALID_ID` before building anything from a bad id. */
  taskDir(id: string): string {
    return path.join(this.tasks, validateId(id));
  }

  taskFile(id: string): string { return path.join(this.taskDir(id), 'task.json'); }
  exitFile(id: string): string { return path.join(this.taskDir(id), 'exit'); }
  bundle(id: string): string { return path.join(this.taskDir(id), 'bundle'); }
  /** A task's own rootfs, where the shared one would get the runtime's mount points (see privateRootfs). */
  taskRootfs(id: string): string { return path.join(this.taskDir(id), 'rootfs'); }
  /** The default CRI log of a task. */
  log(id: string): string { return path.join(this.taskDir(id), `${id}.log`); }
  /** The runtime's JSON log for this task's calls (one per task, so errors never mix). */
  runtimeLog(id: string): string { return path.join(this.taskDir(id), 'runtime.json'); }
  /** The pid files of the task's exec'd processes (and health checks), while their records last. */
  execDir(id: string): string { return path.join(this.taskDir(id), 'execs'); }

  /**
   * Whether `file` lies inside this root once the symlinks of its existing part are resolved. A
   * path a client names (a task's `file://` log) must not: it could overwrite the lock, another
   * task's record or FIFOs, or make a directory that later blocks an id.
   */
  holds(file: string): boolean {
    const real = (p: string): string => {
      try {
        return fs.realpathSync(p);
      } catch {
        const parent = path.dirname(p);
        return parent === p ? p : path.join(real(parent), path.basename(p));
      }
    };
    return isWithin(real(this.root), real(path.resolve(file)));
  }

  /** A task's FIFO paths: `<dir>/<id>-stdin|-stdout|-stderr`; blank where the stream is not used. */
  fifos(id: string, terminal: boolean, stdin: boolean): { terminal: boolean; stdin: string; stdout: string; stderr: string } {
    const dir = this.taskDir(id);
    return {
      terminal,
      stdin: stdin ? path.join(dir, `${id}-stdin`) : '',
      stdout: path.join(dir, `${id}-stdout`),
      stderr: terminal ? '' : path.join(dir, `${id}-stderr`),
    };
  }
}
