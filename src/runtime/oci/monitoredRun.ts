import fs from 'node:fs';
import net from 'node:net';
import { abortError } from '../../errors.js';
import { isCode, pipe2, posixSpawn, type SpawnFd } from '../../sys/index.js';
import type { Monitor } from '../reaper/monitor.js';
import { limitCommand, type CommandBounds, type Cut } from './limits.js';

/**
 * The failures of the exec that mean the binary cannot be run at all, the same whichever way the
 * command starts. (`ENOEXEC` is not one: libuv's execvp then runs the file with `/bin/sh`, glibc's
 * posix_spawnp does not and fails with a system error naming the file.)
 */
export const cannotRunCodes: readonly string[] = ['ENOENT', 'EACCES'];

/** How a runtime command ended, whichever way it was started. */
export interface Ran {
  /** Its exit status (128 + n after a signal, as a shell reports it); null when taskio killed it. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Ended otherwise than with status 0, or could not be started. */
  failed: boolean;
  /** One of {@link cannotRunCodes} when the binary could not be run at all. */
  spawnError?: string;
  cut: Cut;
}

/** The child's stdio: fds handed to it (a container keeps them), or pipes to collect its output. */
export type MonitoredStdio = { fds: readonly SpawnFd[] } | { input?: string };

/**
 * Runs a runtime command started by `posix_spawn` and reaped by `monitor` (the exit monitor that
 * runs in this process), in a session of its own. The fast path of a supervisor: no fork of this
 * process per command (see {@link posixSpawn}). With `fds` the call ends on the command's exit;
 * otherwise its stdout and stderr are collected to their end, and `input` is written to its stdin.
 */
export async function runMonitored(monitor: Monitor, command: string, args: readonly string[], stdio: MonitoredStdio, bounds: CommandBounds): Promise<Ran> {
  if (bounds.signal?.aborted) throw abortError(bounds.signal);
  // Subscribed before the spawn: a command that exits at once is still seen.
  const exits = monitor.subscribe();
  const open = new Set<number>();
  const pipe = (): { read: number; write: number } => {
    const p = pipe2();
    open.add(p.read).add(p.write);
    return p;
  };
  try {
    let fds: SpawnFd[];
    let out: number | null = null, err: number | null = null, inp: number | null = null;
    const input = 'input' in stdio ? stdio.input : undefined;
    if ('fds' in stdio) {
      fds = [...stdio.fds];
    } else {
      const o = pipe(), e = pipe(), i = input !== undefined ? pipe() : null;
      fds = [i?.read ?? 'ignore', o.write, e.write];
      [out, err, inp] = [o.read, e.read, i?.write ?? null];
    }
    let pid: number;
    try {
      pid = posixSpawn(command, args, { fds, setsid: true });
    } catch (cause) {
      if (cannotRunCodes.some((code) => isCode(cause, code))) {
        return { exitCode: null, signal: null, stdout: '', stderr: '', failed: true, spawnError: (cause as { code: string }).code, cut: null };
      }
      throw cause;
    } finally {
      // The child has its copies; this process keeps only its own ends.
      for (const fd of fds) if (typeof fd === 'number' && open.delete(fd)) fs.closeSync(fd);
    }
    const limit = limitCommand(pid, bounds);
    try {
      const outputs = Promise.all([collect(out, open), collect(err, open)]);
      outputs.catch(() => undefined); // awaited below, after the exit
      if (inp !== null) feed(inp, open, input!);
      const exit = await exits.wait(pid);
      const [stdout, stderr] = await outputs;
      const cut = limit.cut();
      const killed = cut !== null && exit.status > 128;
      return {
        exitCode: killed ? null : exit.status, signal: killed ? 'SIGKILL' : null,
        stdout, stderr, failed: exit.status !== 0 || cut !== null, cut,
      };
    } finally {
      limit.done();
    }
  } finally {
    monitor.unsubscribe(exits);
    for (const fd of open) fs.closeSync(fd);
  }
}

/** Reads the pipe `fd` (now owned by the socket, so out of `open`) to its end, as text. */
function collect(fd: number | null, open: Set<number>): Promise<string> {
  if (fd === null) return Promise.resolve('');
  open.delete(fd);
  const socket = new net.Socket({ fd, readable: true, writable: false }).setEncoding('utf8');
  let text = '';
  socket.on('data', (d: string) => { text += d; });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('close', () => resolve(text));
  });
}

/** Writes `input` into the pipe `fd` and closes it; a command that does not read it is no error. */
function feed(fd: number, open: Set<number>, input: string): void {
  open.delete(fd);
  const socket = new net.Socket({ fd, readable: false, writable: true });
  socket.on('error', () => undefined);
  socket.end(input);
}
