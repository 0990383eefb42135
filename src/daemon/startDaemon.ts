import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { TaskioError, abortError } from '../errors.js';
import { builtFile } from '../packageFiles.js';
import { ensurePrivateDir } from '../privateDir.js';
import { readRegularFileSync } from '../readRegularFile.js';
import { DaemonLayout } from './layout.js';

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;

/**
 * The command that runs `taskio daemon` from this package: this Node, the built CLI's bundle (as
 * `bin/taskio` runs it). Every daemon start is two Node processes, the exit recorder and the daemon
 * it starts with the same command: the bundle starts each sooner than the CLI's ES modules do.
 */
export function defaultDaemonCommand(): string[] {
  return [process.execPath, '--', builtFile('cli/taskio.cjs'), 'daemon'];
}

/** Options of {@link spawnDaemon}. */
export interface SpawnDaemonOptions {
  /** argv of the daemon, without `--root` (default {@link defaultDaemonCommand}). */
  command?: string[];
  /** How long to wait for its socket to answer, ms (default 30000: a loaded machine starts Node slowly). */
  timeout?: number;
  signal?: AbortSignal;
}

/**
 * Starts a daemon on `root` in the background — its own session, stdio appended to
 * `<root>/daemon.log` — and resolves once the socket answers (`ping`). Two clients racing here end
 * with one daemon: the loser of the daemon lock exits, and both clients reach the winner's socket.
 * @throws TaskioError `ERR_DAEMON_START` with the end of the daemon's log when no daemon answers.
 */
export async function spawnDaemon(root: string, ping: () => Promise<boolean>, opts: SpawnDaemonOptions = {}): Promise<void> {
  const layout = new DaemonLayout(path.resolve(root)); // a root too long is refused before it is made
  ensurePrivateDir(layout.root);
  const [cmd, ...args] = opts.command ?? defaultDaemonCommand();
  const log = fs.openSync(layout.daemonLog, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
  let exit: number | null = null;
  try {
    // Without NODE_EXTRA_CA_CERTS, as bin/taskio runs the command: Node loads the bundle it names at
    // every start (~45 ms of CPU, twice: the exit recorder and the daemon), and neither makes a TLS
    // connection nor passes its environment to a task.
    const { NODE_EXTRA_CA_CERTS: _ca, ...env } = process.env;
    const child = spawn(cmd!, [...args, '--root', layout.root], { detached: true, stdio: ['ignore', log, log], env });
    child.once('exit', (code, sig) => { exit = code ?? 128; void sig; });
    child.once('error', () => { exit = 127; });
    child.unref();
  } finally {
    fs.closeSync(log);
  }
  const deadline = Date.now() + (opts.timeout ?? 30_000);
  let delay = 5;
  for (;;) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    if (await ping()) return;
    // Exit 3: another daemon holds the root (a racing client started it): keep waiting for its socket.
    if ((exit !== null && exit !== 3) || Date.now() > deadline) {
      throw new TaskioError('ERR_DAEMON_START', `no taskio daemon answers on ${layout.socket}${exit !== null ? ` (the daemon exited with ${exit})` : ''}; ${layout.daemonLog} ends with: ${tail(layout.daemonLog)}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}

function tail(file: string): string {
  try {
    const text = readRegularFileSync(file)?.trimEnd();
    if (text === undefined) return '(not a regular file)';
    return JSON.stringify(text.slice(-500));
  } catch {
    return '(nothing)';
  }
}
