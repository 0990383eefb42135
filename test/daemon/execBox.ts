import type { Test } from 'tap';
import { DaemonClient, type TaskEvent } from '../../src/daemon/index.js';
import { spawnTaskio, type TaskioChild } from '../cli/taskioCommand.js';
import { daemonRoot, eventually, foregroundDaemon } from './helpers.js';

// A daemon running host task `box`, and the `taskio exec` clients and events of the exec tests.

/** Watches task `id`'s events from now (before the caller acts): `seen` resolves with the first that `match` takes. */
export async function nextEvent(t: Pick<Test, 'teardown'>, c: DaemonClient, id: string, match: (e: TaskEvent) => boolean): Promise<{ seen: Promise<TaskEvent> }> {
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  const events = await c.events({ id, signal: ac.signal });
  const seen = (async () => {
    for await (const e of events) {
      if (match(e)) {
        ac.abort();
        return e;
      }
    }
    throw new Error(`the events of ${id} ended before the one waited for`);
  })();
  seen.catch(() => undefined); // awaited by the test; a stream cut by its teardown is no error of its own
  return { seen };
}

/** `taskio exec box ARGS…` as a user runs it, killed with the test if it still runs; resolves once it printed `x`. */
export async function execClient(t: Pick<Test, 'teardown'>, root: string, args: string[]): Promise<TaskioChild> {
  const child = spawnTaskio(root, ['exec', 'box', ...args]);
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  await eventually(() => child.output().includes('x'), 'the exec\'s first output');
  return child;
}

/**
 * A fresh root with its daemon (a child of this test, stopped by the root's cleanup once it removed
 * the tasks) running host task `box`, and a client of it.
 */
export async function daemonWithBox(t: Pick<Test, 'teardown'>): Promise<{ root: string; c: DaemonClient; first: Awaited<ReturnType<typeof foregroundDaemon>> }> {
  const root = daemonRoot(t);
  const first = await foregroundDaemon(root);
  const c = new DaemonClient(root, { start: false });
  t.teardown(() => c.close());
  await c.createTask({ id: 'box', runtime: 'host', args: ['sleep', '300'] });
  return { root, c, first };
}
