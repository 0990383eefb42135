import type { TaskView } from '../daemon/task.js';
import { withDaemon } from './daemonClient.js';
import { filtersShowAll, passesFilters, type PsFilter } from './psFilter.js';
import { createdText, statusText } from './status.js';
import { ellipsis, formatTable } from './table.js';
import type { VerbContext } from './verb.js';

/** docker's width of the COMMAND column before it is cut (`ps` without `--no-trunc`). */
const commandWidth = 20;

/** A task's row of the `ps` table. */
function row(t: TaskView, now: Date, trunc: boolean): string[] {
  const command = t.args.join(' ');
  const live = t.status === 'running' || t.status === 'paused';
  return [
    t.id,
    t.runtime,
    // Quoted as docker quotes it, so a command with spaces reads as one cell.
    JSON.stringify(trunc ? ellipsis(command, commandWidth) : command),
    createdText(t.created, now),
    statusText({ state: t.status, startedAt: t.started, exitedAt: t.exit?.exitedAt ?? null, exitCode: t.exit?.exitCode ?? null }, now),
    live && t.pid > 0 ? String(t.pid) : '',
  ];
}

/**
 * `taskio ps [-a] [-f KEY=VALUE]… [-q] [--no-trunc] [--format table|json]`: the running tasks
 * (`-a`: all), newest first, as docker's table (ID, RUNTIME, COMMAND, CREATED, STATUS, PID); `-f`
 * keeps those that pass docker's filters (see {@link parsePsFilter}; `status` and `exited` look at
 * stopped tasks too); `-q` only their ids; `--format json` one task per line, as the daemon shows it
 * (`GET /tasks/:id`), for scripts.
 */
export async function ps(ctx: VerbContext): Promise<void> {
  const filters = ctx.args.list<PsFilter>('filter');
  const all = ctx.args.bool('all') || filtersShowAll(filters);
  const tasks = (await withDaemon(ctx, (c) => c.listTasks({ all }))).filter((t) => passesFilters(t, filters));
  tasks.sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
  if (ctx.args.bool('quiet')) {
    ctx.stdout.write(tasks.map((t) => `${t.id}\n`).join(''));
  } else if (ctx.args.value('format') === 'json') {
    ctx.stdout.write(tasks.map((t) => `${JSON.stringify(t)}\n`).join(''));
  } else {
    const now = new Date();
    ctx.stdout.write(formatTable(['ID', 'RUNTIME', 'COMMAND', 'CREATED', 'STATUS', 'PID'], tasks.map((t) => row(t, now, !ctx.args.bool('no-trunc')))));
  }
}
