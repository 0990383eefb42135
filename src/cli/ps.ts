import type { TaskView } from '../daemon/task.js';
import { withDaemon } from './daemonClient.js';
import { formatList, type ListFormat } from './format.js';
import { filtersShowAll, passesFilters, type PsFilter } from './psFilter.js';
import { psColumns, psFields } from './psFormat.js';
import type { VerbContext } from './verb.js';

/**
 * `taskio ps [-a] [-n N] [-l] [-f KEY=VALUE]… [-q] [--no-trunc] [--format table|json|TEMPLATE]`: the
 * running tasks (`-a`: all; `-n N`: the N last created in any state, `-l` the last one), newest first, as docker's table (ID, RUNTIME, COMMAND, CREATED, STATUS, PID);
 * `-f` keeps those that pass docker's filters (see {@link parsePsFilter}; `status` and `exited` look
 * at stopped tasks too); `-q` only their ids (a `--format` given too is ignored, with docker's
 * warning); `--format json` one task per line, as the daemon shows it (`GET /tasks/:id`), for
 * scripts; a Go template (`{{.ID}} {{.Status}}`, `table {{.ID}}\t{{.Pid}}`) sees {@link psFields}.
 */
export async function ps(ctx: VerbContext): Promise<void> {
  const filters = ctx.args.list<PsFilter>('filter');
  // docker's: -l is -n 1 unless -n is given; a limit of 1 or more lists every state, 0 or less none.
  const given = ctx.args.value<number>('last')!;
  const last = ctx.args.bool('latest') && given === -1 ? 1 : given;
  const all = ctx.args.bool('all') || last > 0 || filtersShowAll(filters);
  const listed = (await withDaemon(ctx, (c) => c.listTasks({ all }))).filter((t) => passesFilters(t, filters));
  listed.sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
  // The limit counts what passed the filters, as docker's daemon counts.
  const tasks = last > 0 ? listed.slice(0, last) : listed;
  const format = ctx.args.value<ListFormat>('format')!;
  if (ctx.args.bool('quiet')) {
    if (ctx.args.given('format')) ctx.stderr.write('WARNING: Ignoring custom format, because both --format and --quiet are set.\n');
    ctx.stdout.write(tasks.map((t) => `${t.id}\n`).join(''));
  } else if (format === 'json') {
    ctx.stdout.write(tasks.map((t) => `${JSON.stringify(t)}\n`).join(''));
  } else {
    const now = new Date();
    ctx.stdout.write(formatList(format, psColumns, tasks.map((t: TaskView) => psFields(t, now, !ctx.args.bool('no-trunc')))));
  }
}
