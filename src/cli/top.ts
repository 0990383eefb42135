import { validateId } from '../ids.js';
import { withDaemon } from './daemonClient.js';
import { UsageError } from './flags.js';
import { formatTable } from './table.js';
import type { VerbContext } from './verb.js';

/**
 * `taskio top TASK`: the task's processes as a table (PID, PPID, COMMAND). runc and host tasks
 * show host pids; runsc tasks the sandbox's own. docker passes `ps` options after the id to the
 * host's `ps`; the daemon lists processes itself, so options are refused, naming them.
 */
export async function top(ctx: VerbContext): Promise<void> {
  const [task, ...psOptions] = ctx.args.operands;
  if (psOptions.length > 0) throw new UsageError(ctx.command, `ps options are not supported: ${psOptions.join(' ')}`);
  const id = validateId(task);
  const { titles, processes } = await withDaemon(ctx, (c) => c.top(id));
  ctx.stdout.write(formatTable(titles, processes));
}
