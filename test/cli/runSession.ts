/**
 * Helpers for the end-to-end tests of the attached verbs (run, attach, exec, wait): the built
 * `taskio` command run as a child process with its own state root (TASKIO_ROOT, one per test,
 * cleaned up with its daemon and tasks by `daemonRoot`), and the same command in a real pty
 * between two `stty -g` of its shell.
 */
import fs from 'node:fs';
import * as pty from 'node-pty';
import { DaemonClient } from '../../src/daemon/index.js';
import { cliMain, daemonPid, taskDirs } from '../daemon/helpers.js';
import { runTaskio, taskioEnv } from './taskioCommand.js';

interface Teardown { teardown(fn: () => unknown): void }

/** What a finished command printed and how it exited. */
export interface Finished {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment of a command on state root `root` (no debug stack in its messages). */
export const cliEnv = taskioEnv;

/** Runs `taskio ARGS…` on `root`, `input` on its stdin (or none: /dev/null), and collects what it printed ({@link runTaskio}). */
export async function taskio(root: string, args: string[], input?: Buffer | string): Promise<Finished> {
  const { code, ...printed } = await runTaskio(root, args, input);
  return { status: code, ...printed };
}

/** A client of the daemon the commands started on `root` (never starts one itself). */
export function daemonClient(t: Teardown, root: string): DaemonClient {
  const c = new DaemonClient(root, { start: false });
  t.teardown(() => c.close());
  return c;
}

/** The pids of the processes whose command line mentions `text` (a task's marker). */
export function processesWith(text: string): number[] {
  const pids: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text)) pids.push(Number(p));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** `taskio ARGS…` in a real pty, its shell printing `stty -g` before and after it and its status. */
export interface PtySession {
  term: pty.IPty;
  output(): string;
  /** Resolves with the first match of `re` in the output after `from` (default 0); waits for it. */
  waitFor(re: RegExp, from?: number): Promise<RegExpMatchArray>;
  /** Resolves once the shell printed the mode before the command (the command is starting). */
  started: Promise<unknown>;
  /** Resolves once the shell printed its end marker: the terminal mode before, the command's status, the mode after. */
  done: Promise<{ before: string; status: number; after: string }>;
}

/** A line of `stty -g`: the terminal mode as hex fields. */
const sttyLine = /^[0-9a-f]+(?::[0-9a-f]+)+$/;

/** Starts `taskio ARGS…` on `root` in a pty of `cols`×`rows`. Killed in teardown if still running. */
export function ptyTaskio(t: Teardown, root: string, args: string[], size = { cols: 90, rows: 30 }): PtySession {
  const quoted = [process.execPath, cliMain, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // The shell stays (`read`) until the teardown: Linux may drop what a pty's last process wrote
  // just before it closed the terminal, so the end is the marker's text, not the exit.
  const term = pty.spawn('/bin/sh', ['-c', `stty -g; ${quoted}; echo "status=$?"; stty -g; echo end-of-session; read x`], {
    ...size, env: cliEnv(root) as Record<string, string>,
  });
  let out = '';
  let exited = false;
  const waiters: Array<() => void> = [];
  const wake = (): void => { for (const w of waiters.splice(0)) w(); };
  term.onData((d) => {
    out += d;
    // Answer the cursor position query as a terminal does (busybox's line editor asks at each
    // prompt and takes what is typed meanwhile for the answer).
    if (d.includes('\x1b[6n')) term.write('\x1b[1;1R');
    wake();
  });
  term.onExit(() => { exited = true; wake(); });
  t.teardown(() => { if (!exited) term.kill('SIGKILL'); });
  const waitFor = (re: RegExp, from = 0): Promise<RegExpMatchArray> => new Promise((resolve, reject) => {
    const check = (): void => {
      const m = out.slice(from).match(re);
      if (m) resolve(m);
      else if (exited) reject(new Error(`the session ended without ${re}; output: ${JSON.stringify(out)}`));
      else waiters.push(check);
    };
    check();
  });
  return {
    term,
    output: () => out,
    waitFor,
    started: waitFor(/^[0-9a-f]+(?::[0-9a-f]+)+\r?\n/),
    done: waitFor(/end-of-session/).then(() => {
      const lines = out.split(/\r?\n/).map((l) => l.trim());
      // After a detach the task's prompt may still be on the line the status is printed on.
      const i = lines.findIndex((l) => /status=\d+$/.test(l));
      if (i < 0) throw new Error(`no status line in ${JSON.stringify(out)}`);
      return { before: lines.find((l) => sttyLine.test(l)) ?? '', status: Number(/status=(\d+)$/.exec(lines[i]!)![1]), after: lines[i + 1] ?? '' };
    }),
  };
}

/**
 * Types a command into a shell running in the task and waits for its marked result: the shell
 * echoes the typed line, so the marker is computed by the shell (`$((…))`) and only its output
 * matches. Resolves with the text between the markers.
 */
export async function shellCommand(s: PtySession, command: string, tag: number): Promise<string> {
  const from = s.output().length;
  s.term.write(`echo "<$((${tag}+1))"; ${command}; echo ">$((${tag}+2))"\r`);
  const m = await s.waitFor(new RegExp(`<${tag + 1}\\r*\\n([^]*?)>${tag + 2}`), from);
  return m[1]!.replace(/\r/g, '').trim();
}

/** The daemon's pid on `root` (0 when none), to check a command started one. */
export { daemonPid, taskDirs };
