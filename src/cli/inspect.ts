import type { TaskView } from '../daemon/task.js';
import { TaskioError } from '../errors.js';
import { validateId } from '../ids.js';
import { errorLine } from './command.js';
import { withDaemon } from './daemonClient.js';
import { exitOwnError } from './exitCode.js';
import type { Json, Template } from './template.js';
import type { VerbContext } from './verb.js';

/**
 * `taskio inspect [-f FORMAT] TASK…`: the tasks as the daemon shows them, a JSON array (even for
 * one) indented as docker's; `--format json` the same array on one line; `--format TEMPLATE` the
 * template's text for each task, each followed by a newline. A task that cannot be found, or that the
 * template fails on (a missing field is an error, as docker's), gets an error line on stderr naming
 * it; the others are still printed, and the command exits 125.
 */
export async function inspect(ctx: VerbContext): Promise<number> {
  const format = ctx.args.value<'json' | Template>('format');
  return withDaemon(ctx, async (c) => {
    const results = await Promise.allSettled(ctx.args.operands.map(async (id) => c.getTask(validateId(id))));
    const found = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])) satisfies TaskView[];
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    if (format === undefined || format === 'json') {
      ctx.stdout.write(`${format === 'json' ? JSON.stringify(found) : JSON.stringify(found, null, 4)}\n`);
    } else {
      const lines = found.flatMap((t) => {
        try {
          return [`${format.execute(t as unknown as Json)}\n`]; // a TaskView is the daemon's JSON
        } catch (err) {
          errors.push(new TaskioError((err as TaskioError).code, `${t.id}: ${(err as Error).message}`, { cause: err }));
          return [];
        }
      });
      ctx.stdout.write(lines.join(''));
    }
    for (const err of errors) ctx.stderr.write(errorLine(err, ctx.command, ctx.env));
    return errors.length === 0 ? 0 : exitOwnError;
  });
}
