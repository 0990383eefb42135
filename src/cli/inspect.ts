import type { TaskView } from '../daemon/task.js';
import { validateId } from '../ids.js';
import { errorLine } from './command.js';
import { withDaemon } from './daemonClient.js';
import { exitOwnError } from './exitCode.js';
import type { VerbContext } from './verb.js';

/**
 * `taskio inspect TASK…`: the tasks as the daemon shows them, a JSON array (even for one) indented
 * as docker's. A task that cannot be found gets an error line on stderr; the others are still
 * printed, and the command exits 125.
 */
export async function inspect(ctx: VerbContext): Promise<number> {
  return withDaemon(ctx, async (c) => {
    const results = await Promise.allSettled(ctx.args.operands.map(async (id) => c.getTask(validateId(id))));
    const found = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])) satisfies TaskView[];
    ctx.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
    for (const r of results) if (r.status === 'rejected') ctx.stderr.write(errorLine(r.reason, ctx.command, ctx.env));
    return found.length === results.length ? 0 : exitOwnError;
  });
}
