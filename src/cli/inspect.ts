import { TaskioError } from '../errors.js';
import { validateId } from '../ids.js';
import { errorLine } from './command.js';
import { withDaemon } from './daemonClient.js';
import { inspectView } from './dockerInspect.js';
import { exitOwnError } from './exitCode.js';
import type { Json, Template } from './template.js';
import type { VerbContext } from './verb.js';

/**
 * `taskio inspect [-f FORMAT] [--type container] TASK…`: the tasks as the daemon shows them with
 * docker's fields beside taskio's ({@link inspectView}: `{{.State.ExitCode}}` works as with docker),
 * a JSON array (even for one) indented as docker's; `--format json` the same array on one line; `--format TEMPLATE` the
 * template's text for each task, each followed by a newline. A task that cannot be found, or that the
 * template fails on (a missing field is an error, as docker's), gets an error line on stderr naming
 * it; the others are still printed, and the command exits 125. `--type` (docker's `container`, or
 * `task`) is checked with the flags and changes nothing: tasks are all taskio has.
 */
export async function inspect(ctx: VerbContext): Promise<number> {
  const format = ctx.args.value<'json' | Template>('format');
  return withDaemon(ctx, async (c) => {
    const results = await Promise.allSettled(ctx.args.operands.map(async (id) => c.getTask(validateId(id))));
    const found: Json[] = [];
    const lines: string[] = [];
    const errors: unknown[] = []; // in the order of the operands, as docker's
    for (const r of results) {
      if (r.status === 'rejected') errors.push(r.reason);
      else if (format === undefined || format === 'json') found.push(inspectView(r.value));
      else {
        try {
          lines.push(`${format.execute(inspectView(r.value))}\n`);
        } catch (err) {
          errors.push(new TaskioError((err as TaskioError).code, `${r.value.id}: ${(err as Error).message}`, { cause: err }));
        }
      }
    }
    if (format === undefined) lines.push(`${JSON.stringify(found, null, 4)}\n`);
    else if (format === 'json') lines.push(`${JSON.stringify(found)}\n`);
    ctx.stdout.write(lines.join(''));
    for (const err of errors) ctx.stderr.write(errorLine(err, ctx.command, ctx.env));
    return errors.length === 0 ? 0 : exitOwnError;
  });
}
