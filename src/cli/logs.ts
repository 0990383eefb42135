import { validateId } from '../ids.js';
import { withDaemon } from './daemonClient.js';
import { untilInterrupted } from './interrupt.js';
import { sinceTimestamp } from './since.js';
import type { VerbContext } from './verb.js';

/**
 * `taskio logs [-f] [--tail N] [--since T] [--until T] [-t] [--details] TASK`: the task's log across
 * rotations, as the bytes the task wrote (CRI entries decoded), stdout to stdout and stderr to
 * stderr; `-t` puts the entry's time (RFC 3339, nanoseconds) before each line, `--details` its
 * log attributes and a space (docker's; a task's log has none, so the space alone). `-f` follows until the task has
 * exited and all of its output is shown, the clock passed `--until`, or ctrl-C.
 */
export async function logs(ctx: VerbContext): Promise<number> {
  const id = validateId(ctx.args.operands[0]);
  const tail = ctx.args.value<number | 'all'>('tail');
  const since = ctx.args.value<string>('since');
  const until = ctx.args.value<string>('until');
  return withDaemon(ctx, (c) => untilInterrupted(ctx, (signal) => c.logs(id, { stdout: ctx.stdout, stderr: ctx.stderr }, {
    follow: ctx.args.bool('follow'),
    ...(typeof tail === 'number' ? { tail } : {}),
    // To the nanosecond, as docker's: a log's times have nanoseconds.
    ...(since !== undefined ? { since: sinceTimestamp(since) } : {}),
    ...(until !== undefined ? { until: sinceTimestamp(until) } : {}),
    timestamps: ctx.args.bool('timestamps'),
    details: ctx.args.bool('details'),
    signal,
  })));
}
