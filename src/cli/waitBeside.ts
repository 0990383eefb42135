import type { DaemonClient } from '../daemon/client.js';
import type { ExitRecord } from '../daemon/records.js';

/** A task's exit asked for beside an attach; {@link WaitBeside.stop} drops the question (a detach). */
export interface WaitBeside {
  exit: Promise<ExitRecord>;
  stop(): void;
}

/**
 * Asks the daemon for task `id`'s exit at once, on a connection of its own, beside the attach
 * about to be made — as docker's CLI asks ContainerWait beside ContainerAttach. An attach stream
 * with no exit frame in it (a terminal's is raw; `attach` asks for none) ends the same way when
 * the task exited as when the daemon went away (SIGKILL): a wait asked only then would start the
 * next daemon and wait there, silently, for the next exit of a task that runs on. Asked before,
 * it fails with the daemon ("the daemon closed the connection before it answered"), and the
 * command says so (125). `removed`: resolves once a `--rm` task is gone.
 */
export function waitBeside(client: DaemonClient, id: string, removed = false): WaitBeside {
  const waiting = new AbortController();
  const exit = client.wait(id, { ...(removed ? { condition: 'removed' as const } : {}), ownConnection: true, signal: waiting.signal });
  exit.catch(() => undefined); // awaited by the caller, unless it detached
  return { exit, stop: () => waiting.abort() };
}
