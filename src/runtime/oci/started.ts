import fs from 'node:fs';
import path from 'node:path';
import { abortError } from '../../errors.js';
import { readRegularFileSync } from '../../readRegularFile.js';
import type { Dialect } from './types.js';
import { readPidFile } from './pidFile.js';
import { isRunscStateOf } from './runscState.js';

/**
 * Resolves once the process of container `id`, created and started by an attached `run` (no
 * `--detach`), runs — the moment `run --detach` would have returned:
 * - runc writes the pid file once the process runs (a temporary file renamed into place);
 * - runsc writes the pid file (the sandbox) at create, and its state file
 *   `<root>/<id>_sandbox:<id>.state` says `"status": "running"` once the container started.
 *
 * One inotify watch on the directory, made here, before the caller starts the runtime: there is
 * no polling and no change to miss. Rejects with {@link readPidFile}'s error for something planted
 * in the pid file's place, or with `signal`'s `AbortError` once the caller no longer waits; either
 * way the watch is gone.
 */
export function containerStarted(dialect: Dialect, where: { root: string; id: string; pidFile: string }, signal: AbortSignal): Promise<void> {
  if (dialect === 'runc') {
    const name = path.basename(where.pidFile);
    return changedUntil(path.dirname(where.pidFile), (changed) => changed === name && readPidFile(where.pidFile) > 0, signal);
  }
  return changedUntil(where.root, (changed) => isRunscStateOf(changed, where.id) && runscStatus(path.join(where.root, changed)) === 'running', signal);
}

/** The status in a runsc state file; null while it is missing or half written (its next change follows). */
function runscStatus(file: string): string | null {
  try {
    const text = readRegularFileSync(file);
    if (text === null) return null;
    const state = JSON.parse(text) as { status?: unknown };
    return typeof state.status === 'string' ? state.status : null;
  } catch {
    return null;
  }
}

/** Resolves once `ready(name)` holds after a change to entry `name` of `dir`. */
function changedUntil(dir: string, ready: (name: string) => boolean, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError(signal));
    const watcher = fs.watch(dir, { persistent: false });
    const settle = (err?: unknown): void => {
      watcher.close();
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onAbort = (): void => settle(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    watcher.on('error', settle);
    watcher.on('change', (_event, changed) => {
      if (typeof changed !== 'string') return;
      try {
        if (ready(changed)) settle();
      } catch (err) {
        settle(err);
      }
    });
  });
}
