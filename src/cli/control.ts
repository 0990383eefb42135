import { TaskioError } from '../errors.js';
import type { DaemonClient } from '../daemon/client.js';
import { eachTask, hasExited } from './daemonClient.js';
import type { VerbContext } from './verb.js';

/**
 * The verbs that change a task's state, each over every task named ({@link eachTask}: ids of the
 * tasks done on stdout, one error line per task that failed, 125 if any did).
 */

/** `taskio kill [-s SIG] TASK…`: sends the signal (default KILL) to each task's init, as `docker kill`. */
export function kill(ctx: VerbContext): Promise<number> {
  const signal = ctx.args.value<number>('signal')!;
  return eachTask(ctx, (c, id) => c.kill(id, signal));
}

/**
 * Stops one task as `docker stop` does: `signal`, then up to `seconds` for it to exit (-1: for
 * ever), then KILL to all of its processes, and returns once it has exited. A task that has
 * exited already is stopped; a paused one is resumed after the signal, so that it can act on it.
 */
async function stopTask(c: DaemonClient, id: string, signal: number | string, seconds: number): Promise<void> {
  const task = await c.getTask(id);
  if (task.status === 'exited') return;
  try {
    await c.kill(id, signal);
    if (task.status === 'paused') await c.resume(id);
  } catch (err) {
    if (!(await hasExited(c, id))) throw err;
    return;
  }
  if (seconds >= 0) {
    const timeout = AbortSignal.timeout(seconds * 1000);
    try {
      await c.wait(id, { signal: timeout });
      return;
    } catch (err) {
      if (!timeout.aborted) throw err;
    }
    await c.kill(id, 'KILL', { all: true }).catch(async (err: unknown) => {
      if (!(await hasExited(c, id))) throw err;
    });
  }
  await c.wait(id);
}

/** `taskio stop [-s SIG] [-t SECS] TASK…`: TERM (or `-s`), then KILL after SECS (default 10). */
export function stop(ctx: VerbContext): Promise<number> {
  const signal = ctx.args.value<number>('signal') ?? 'TERM';
  const seconds = ctx.args.value<number>('time')!;
  return eachTask(ctx, (c, id) => stopTask(c, id, signal, seconds));
}

/**
 * `taskio rm [-f] TASK…`: removes each task and everything it left (state, FIFOs, its log in the
 * task directory). A task that runs is refused, naming it, unless `-f`, which kills it first.
 * With `-f` a task that does not exist (or was removed meanwhile) is no error and prints nothing,
 * as `rm -f` of a missing file and docker's `rm -f` (docker/cli 20.10): cleanup scripts stay simple.
 */
export function rm(ctx: VerbContext): Promise<number> {
  const force = ctx.args.bool('force');
  return eachTask(ctx, async (c, id) => {
    try {
      await c.remove(id, { force });
    } catch (err) {
      if (force && (err as { code?: unknown }).code === 'ERR_NOT_FOUND') return false;
      const state = /cannot delete a (running|paused) task/.exec((err as Error).message)?.[1];
      if (force || state === undefined) throw err;
      throw new TaskioError('ERR_INVALID_STATE', `cannot remove ${state} task ${id}: stop it first, or force the removal with rm -f`, { cause: err });
    }
  });
}

/** `taskio pause TASK…`: freezes every process of each task. */
export function pause(ctx: VerbContext): Promise<number> {
  return eachTask(ctx, (c, id) => c.pause(id));
}

/** `taskio unpause TASK…`: thaws each paused task. */
export function unpause(ctx: VerbContext): Promise<number> {
  return eachTask(ctx, (c, id) => c.resume(id));
}
