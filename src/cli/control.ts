import { TaskioError } from '../errors.js';
import type { DaemonClient } from '../daemon/client.js';
import type { RestartPolicy } from '../daemon/restartPolicy.js';
import { eachTask } from './daemonClient.js';
import { commandLimits, namesLimits } from './limits.js';
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
 * `taskio stop [-s SIG] [-t SECS] TASK…`: as `docker stop`, done by the daemon — the task's stop
 * signal (`run --stop-signal`, TERM by default, or `-s`), then KILL after SECS (the task's
 * `--stop-timeout`, 10 by default; -1 waits for ever); a task stopped so is not restarted by its policy.
 */
export function stop(ctx: VerbContext): Promise<number> {
  const signal = ctx.args.value<number>('signal');
  const timeout = ctx.args.value<number>('time');
  return eachTask(ctx, (c, id) => c.stop(id, { ...(signal !== undefined ? { stopSignal: signal } : {}), ...(timeout !== undefined ? { timeout } : {}) }));
}

/**
 * `taskio start [-a] [-i] TASK…`: runs each created task, or exited one again in place (same id;
 * its log goes on), as `docker start`; `-a`/`-i` attach to the one task (see {@link startAttached}).
 */
export async function start(ctx: VerbContext): Promise<unknown> {
  if (ctx.args.bool('attach') || ctx.args.bool('interactive')) return (await import('./attach.js')).startAttached(ctx);
  return eachTask(ctx, async (c, id) => { await c.start(id); });
}

/**
 * `taskio update [--memory B] [--cpus N] [--pids-limit N] [--cpuset-cpus LIST] [-c SHARES] [--memory-reservation B] [--memory-swap B] [--restart POLICY] TASK…`: as `docker
 * update` — new limits, at once where a task runs (runc and host tasks; runsc has no update) and for
 * its later runs, and a new restart policy. `--pids-limit -1` takes the pids limit away.
 */
export function update(ctx: VerbContext): Promise<number> {
  const limits = commandLimits(ctx.args);
  const restartPolicy = ctx.args.value<RestartPolicy>('restart');
  if (!namesLimits(ctx.args) && restartPolicy === undefined) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', 'you must provide one or more flags when using this command (--memory, --cpus, --pids-limit, --cpuset-cpus, --cpu-shares, --memory-reservation, --memory-swap, --restart)');
  }
  const change = { ...(Object.keys(limits).length > 0 ? { limits } : {}), ...(restartPolicy !== undefined ? { restartPolicy } : {}) };
  // Only values that are none given (`--memory 0`): docker answers each task's name and changes
  // nothing; a task that does not exist is still an error.
  if (Object.keys(change).length === 0) return eachTask(ctx, async (c, id) => { await c.getTask(id); });
  return eachTask(ctx, async (c, id) => { await c.update(id, change); });
}

/** `taskio restart [-t SECS] TASK…`: stop (as {@link stop}), then start, as `docker restart`. */
export function restart(ctx: VerbContext): Promise<number> {
  const timeout = ctx.args.value<number>('time');
  return eachTask(ctx, async (c, id) => { await c.restart(id, timeout !== undefined ? { timeout } : {}); });
}

/**
 * `taskio rm [-f] [-v] TASK…`: removes each task and everything it left (state, FIFOs, its log in the
 * task directory). A task that runs is refused, naming it, unless `-f`, which kills it first. `-v`
 * is docker's flag for anonymous volumes, which taskio never makes: a bind mount's host path stays,
 * as docker's `rm -v` keeps it, and a tmpfs goes with the task anyway; it changes nothing.
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
