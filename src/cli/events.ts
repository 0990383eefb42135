import type { TaskEvent } from '../daemon/events.js';
import { withDaemon } from './daemonClient.js';
import { passesEventFilters, type EventFilter } from './eventFilter.js';
import { untilInterrupted } from './interrupt.js';
import { sinceDate } from './since.js';
import type { Json, Template } from './template.js';
import type { VerbContext } from './verb.js';

/**
 * An event as docker's `events` prints one: time (nanoseconds), `task`, what happened, the id, its
 * attributes (the exit code, the exec's id, the task's labels) sorted by name as docker sorts them.
 */
export function eventLine(e: TaskEvent): string {
  const attrs: Record<string, string> = {
    ...e.labels,
    ...(e.exitCode !== undefined ? { exitCode: String(e.exitCode ?? 'unknown') } : {}),
    ...(e.execId !== undefined ? { execID: e.execId } : {}),
  };
  const list = Object.keys(attrs).sort().map((k) => `${k}=${attrs[k]}`);
  return `${e.time.replace(/\.(\d{3})Z$/, '.$1000000Z')} task ${e.type} ${e.id}${list.length > 0 ? ` (${list.join(', ')})` : ''}\n`;
}

/**
 * `taskio events [-f KEY=VALUE]… [--since T] [--until T] [--format json|TEMPLATE]`: the daemon's
 * events as they happen, as `docker events` — with `--since`, the ones it kept from then first (the
 * last 256); it ends when the clock passes `--until` (at once for a time past), or on ctrl-C.
 */
export async function events(ctx: VerbContext): Promise<number> {
  const filters = ctx.args.list<EventFilter>('filter');
  const format = ctx.args.value<'json' | Template>('format');
  const since = ctx.args.value<string>('since'), until = ctx.args.value<string>('until');
  // One task named: the daemon sends only its events.
  const ids = [...new Set(filters.flatMap((f) => (f.key === 'task' ? [f.id] : [])))];
  return withDaemon(ctx, (c) => untilInterrupted(ctx, async (signal) => {
    const stream = await c.events({
      signal, ...(ids.length === 1 ? { id: ids[0]! } : {}),
      ...(since !== undefined ? { since: sinceDate(since) } : {}), ...(until !== undefined ? { until: sinceDate(until) } : {}),
    });
    for await (const e of stream) {
      if (!passesEventFilters(e, filters)) continue;
      ctx.stdout.write(format === undefined ? eventLine(e) : format === 'json' ? `${JSON.stringify(e)}\n` : `${format.execute(e as unknown as Json)}\n`);
    }
  }));
}
