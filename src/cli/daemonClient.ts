import path from 'node:path';
import { TaskioError } from '../errors.js';
import { validateId } from '../ids.js';
import { DaemonClient, isConnectError } from '../daemon/client.js';
import { defaultDaemonRoot } from '../daemon/layout.js';
import { errorLine } from './command.js';
import { exitOwnError } from './exitCode.js';
import type { VerbContext } from './verb.js';

/** The state root the command talks to: `$TASKIO_ROOT`, else the default one. */
export function daemonRootOf(ctx: Pick<VerbContext, 'env'>): string {
  return ctx.env['TASKIO_ROOT'] ? path.resolve(ctx.env['TASKIO_ROOT']) : defaultDaemonRoot();
}

/**
 * Runs `fn` with a client of the daemon of the command's state root (`$TASKIO_ROOT` of the
 * command's environment, else the default root) and closes the client — its kept-alive
 * connections would otherwise hold the command open. A daemon that does not answer is started by
 * the first request (the client does that), so a command costs no round trip of its own to check.
 */
export async function withDaemon<T>(ctx: Pick<VerbContext, 'env'>, fn: (client: DaemonClient) => Promise<T>): Promise<T> {
  const client = new DaemonClient(daemonRootOf(ctx));
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/**
 * Runs `fn` with a client of the daemon of the command's state root that never starts one: what
 * `version` and `info` ask, as docker's start none. A daemon that does not answer is one
 * `ERR_NO_DAEMON` error naming the socket; the client is closed either way.
 * @throws TaskioError `ERR_NO_DAEMON`.
 */
export async function withRunningDaemon<T>(ctx: Pick<VerbContext, 'env'>, fn: (client: DaemonClient) => Promise<T>): Promise<T> {
  const root = daemonRootOf(ctx);
  const client = new DaemonClient(root, { start: false });
  try {
    return await fn(client);
  } catch (err) {
    if (!isConnectError(err)) throw err;
    throw new TaskioError('ERR_NO_DAEMON', `cannot connect to the taskio daemon at ${path.join(root, 'taskio.sock')}: is it running? (taskio daemon, or any other command, starts it)`, { cause: err });
  } finally {
    client.close();
  }
}

/** Whether task `id` has exited (after a refusal: was it refused because the task had just exited?). */
export async function hasExited(client: DaemonClient, id: string): Promise<boolean> {
  return (await client.getTask(id).catch(() => null))?.status === 'exited';
}

/** An error about task `id` whose message names it (the daemon's state refusals do not). */
export function namingTask(err: unknown, id: string): unknown {
  if (!(err instanceof Error) || err.message.includes(id)) return err;
  const code = (err as { code?: unknown }).code;
  return new TaskioError(typeof code === 'string' ? code : 'ERR_DAEMON', `task ${id}: ${err.message}`, { cause: err });
}

/**
 * The loop of the verbs that act on each task named (`kill`, `stop`, `rm`, `pause`, `unpause`), as
 * docker's: the tasks are done at once (a `stop` of three tasks takes one timeout, not three), then
 * in the order given each one done prints its id on stdout and each one that failed one error line
 * on stderr; a failure does not stop the others. Exits 0 when all were done, else 125. An `op`
 * that resolves `false` had nothing to do and succeeded silently (`rm -f` of a task that is gone).
 */
export async function eachTask(ctx: VerbContext, op: (client: DaemonClient, id: string) => Promise<void | false>): Promise<number> {
  return withDaemon(ctx, async (client) => {
    const results = await Promise.allSettled(ctx.args.operands.map(async (id) => op(client, validateId(id))));
    let failed = false;
    results.forEach((r, i) => {
      const id = ctx.args.operands[i]!;
      if (r.status === 'fulfilled') {
        if (r.value !== false) ctx.stdout.write(`${id}\n`);
      } else {
        failed = true;
        ctx.stderr.write(errorLine(namingTask(r.reason, id), ctx.command, ctx.env));
      }
    });
    return failed ? exitOwnError : 0;
  });
}
