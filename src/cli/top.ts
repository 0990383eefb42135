import { validateId } from '../ids.js';
import { withDaemon } from './daemonClient.js';
import { formatTable } from './table.js';
import type { VerbContext } from './verb.js';

/**
 * `taskio top TASK [ps OPTIONS]`: the task's processes as a table. Without options the daemon's
 * own (PID, PPID, COMMAND; runsc tasks with the sandbox's pids); with them, as docker's, the
 * host's `ps` run with them by the daemon, its rows those of the task's processes (runc and host
 * tasks: `top web aux`, `top web -eo pid,rss,comm`).
 */
export async function top(ctx: VerbContext): Promise<void> {
  const [task, ...psOptions] = ctx.args.operands;
  const id = validateId(task);
  // docker's CLI sends the options joined by spaces; the daemon splits them again.
  const { titles, processes } = await withDaemon(ctx, (c) => c.top(id, psOptions.length > 0 ? { psArgs: psOptions.join(' ') } : {}));
  ctx.stdout.write(formatTable(titles, processes));
}
