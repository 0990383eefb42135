import { Writable, type Readable } from 'node:stream';
import { TaskioError } from '../errors.js';
import type { DaemonClient, ExecHandle } from '../daemon/client.js';

/**
 * The task's side of `taskio cp`, as `kubectl cp` does it: `sh` and `tar` run in the task through
 * the daemon's exec (what `taskio exec -i` uses), the same way on every runtime — in runsc's
 * sandbox, in runc's namespaces, on the host for a host task; in a task that does not run (created,
 * exited) the exec's `helper` runs them in a transient container made from the task's bundle. They
 * run as root (`0:0`), as docker reads and writes a container's files as root whatever its user.
 */

/** The task a copy reads or writes. */
export interface CopyTask {
  client: DaemonClient;
  id: string;
  /** It does not run: its commands run in the daemon's transient helper (the exec's `helper`). */
  helper: boolean;
}

/** What a task's path is, after following a last symbolic link where asked. */
export interface TaskPathStat {
  /** `dir`, `file` (any other existing thing, a symbolic link too), `none` (its directory exists), `noparent`. */
  kind: 'dir' | 'file' | 'none' | 'noparent';
  /** The path (the link's target, absolute, when one was followed). */
  path: string;
}

/**
 * Prints `KIND PATH` for `$1`; `$2 = follow` resolves a last symbolic link first (`readlink -f`:
 * every link on the way, inside the task). `[ -L ]` comes first: a link not followed is copied as a link.
 */
const statScript = [
  'p=$1',
  'if [ "$2" = follow ] && [ -L "$p" ]; then p=$(readlink -f -- "$p") || { printf "noparent %s" "$1"; exit 0; }; fi',
  'if [ -L "$p" ]; then k=file; elif [ -d "$p" ]; then k=dir; elif [ -e "$p" ]; then k=file;',
  'elif [ -d "$(dirname -- "$p")" ]; then k=none; else k=noparent; fi',
  'printf "%s %s" "$k" "$p"',
].join('\n');

/** The most of a process's stderr kept for a message. */
const maxStderr = 4096;

/** Collects the first {@link maxStderr} bytes written to it. */
class Collector extends Writable {
  #chunks: Buffer[] = [];
  #size = 0;

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (this.#size < maxStderr) {
      this.#chunks.push(chunk);
      this.#size += chunk.length;
    }
    done();
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8', 0, maxStderr);
  }
}

/** How a command run by {@link runInTask} is connected. */
export interface TaskCommandIO {
  stdin?: Readable;
  stdout?: Writable;
  /** Aborting kills the command (the other end of its pipe failed). */
  signal?: AbortSignal;
}

/**
 * Runs `args` in `task` as root and waits for it; resolves with what it printed on stdout when
 * no `stdout` was given. A command that cannot start (no `tar` or `sh` in the task's root) or that
 * fails is one `ERR_COPY_FAILED` error with its stderr (never 126/127: those are a task's codes).
 */
export async function runInTask(task: CopyTask, args: string[], io: TaskCommandIO = {}): Promise<string> {
  const { client, id } = task;
  const stderr = new Collector();
  const captured = io.stdout ? null : new Collector();
  let handle: ExecHandle;
  try {
    handle = await client.exec(id, { args, user: '0:0', ...(task.helper ? { helper: true } : {}), ...(io.stdin ? { stdin: io.stdin } : {}), stdout: io.stdout ?? captured!, stderr });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ERR_COMMAND_NOT_FOUND' && code !== 'ERR_COMMAND_NOT_EXECUTABLE') throw err;
    throw new TaskioError('ERR_COPY_FAILED', `cp runs ${args[0]} inside task ${id}, which has none: ${(err as Error).message}`, { cause: err });
  }
  const kill = (): void => { void handle.kill('KILL').catch(() => undefined); };
  io.signal?.addEventListener('abort', kill, { once: true });
  try {
    const exit = await handle.wait();
    if (exit.exitCode !== 0) {
      const why = stderr.text().trim().split('\n')[0] || (exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.exitCode}`);
      throw new TaskioError('ERR_COPY_FAILED', `${args[0]} in task ${id}: ${why}`);
    }
    return captured?.text() ?? '';
  } finally {
    io.signal?.removeEventListener('abort', kill);
  }
}

/**
 * Stats `p` inside `task` (docker's `ContainerStatPath`), following it when it is a symbolic
 * link and `follow` says so.
 */
export async function statTaskPath(task: CopyTask, p: string, follow: boolean): Promise<TaskPathStat> {
  const id = task.id;
  const out = await runInTask(task, ['sh', '-c', statScript, 'sh', p, follow ? 'follow' : '']);
  const space = out.indexOf(' ');
  const kind = out.slice(0, space);
  if (!['dir', 'file', 'none', 'noparent'].includes(kind)) throw new TaskioError('ERR_COPY_FAILED', `cannot stat ${p} in task ${id}: the task's sh answered ${JSON.stringify(out)}`);
  return { kind: kind as TaskPathStat['kind'], path: out.slice(space + 1) };
}
