import os from 'node:os';
import type { DaemonClient, TaskStats } from '../daemon/client.js';
import type { TaskView } from '../daemon/task.js';
import { validateId } from '../ids.js';
import { hasExited, withDaemon } from './daemonClient.js';
import { untilInterrupted } from './interrupt.js';
import { LiveTable } from './liveTable.js';
import { formatList, type ListFormat } from './format.js';
import { statsColumns } from './statsFormat.js';
import { bytesSize } from './units.js';
import type { VerbContext } from './verb.js';

/** What a row shows: a sample, `exited` (docker's zeros), or `pending` until the first sample. */
type RowState = TaskStats | 'exited' | 'pending';

const percent = (n: number): string => `${n.toFixed(2)}%`;

/**
 * A row of the table, as `docker stats` writes it: what a template sees. Memory is shown against
 * the limit the sample reports, else the task's own (a host task's sample has none), else — no
 * limit, or one above this machine's memory — the machine's memory, as docker does.
 */
function cells(t: TaskView, s: RowState): Record<keyof typeof statsColumns, string> {
  const row = (CPUPerc: string, MemUsage: string, MemPerc: string, PIDs: string) => ({ ID: t.id, Name: t.id, CPUPerc, MemUsage, MemPerc, PIDs });
  if (s === 'pending') return row('--', '-- / --', '--', '--');
  if (s === 'exited') return row(percent(0), '0B / 0B', percent(0), '0');
  const total = os.totalmem();
  const own = s.memory.limit ?? t.limits?.memory;
  const limit = own !== undefined && own > 0 && own < total ? own : total;
  const used = memoryInUse(s.memory);
  return row(
    s.cpuPercent === null ? '--' : percent(s.cpuPercent), `${bytesSize(used)} / ${bytesSize(limit)}`,
    percent((used / limit) * 100), String(s.pids.current),
  );
}

/**
 * Memory in use as `docker stats` counts it: the cgroup's charge less its inactive page cache,
 * which the kernel gives back first (a task that wrote a 100 MB file is not shown at 100 MB).
 */
function memoryInUse(m: TaskStats['memory']): number {
  return m.inactiveFile !== undefined && m.inactiveFile < m.usage ? m.usage - m.inactiveFile : m.usage;
}

const isLive = (t: TaskView): boolean => t.status === 'running' || t.status === 'paused';

/** The tasks named (each must exist), or the running ones (`-a`: all). */
async function tasksOf(c: DaemonClient, ctx: VerbContext): Promise<TaskView[]> {
  if (ctx.args.operands.length === 0) return c.listTasks({ all: ctx.args.bool('all') });
  return Promise.all(ctx.args.operands.map((id) => c.getTask(validateId(id))));
}

/** One sample of a task (CPU % over a short interval), or `exited` for a task that is not running. */
async function sampleOf(c: DaemonClient, t: TaskView): Promise<RowState> {
  if (!isLive(t)) return 'exited';
  try {
    return await c.stats(t.id);
  } catch (err) {
    if (await hasExited(c, t.id)) return 'exited';
    throw err;
  }
}

/**
 * `taskio stats [-a] [--no-stream] [--format table|json|TEMPLATE] [TASK…]`: CPU % (of one CPU), memory use
 * and limit, memory %, and pids of the tasks named, or of the running ones (`-a`: all). A live
 * table that redraws as samples come (a sample a second) until ctrl-C — or, for tasks named, until
 * all of them have exited; without names, tasks that start are added and those that exit leave.
 * `--no-stream` prints one table; `--format json` prints the samples, one JSON object a line; a Go
 * template (`table {{.Name}}\t{{.CPUPerc}}`) sees the row's cells by docker's names ({@link statsColumns}).
 */
export async function stats(ctx: VerbContext): Promise<number> {
  const format = ctx.args.value<ListFormat>('format')!;
  return withDaemon(ctx, async (c) => {
    if (ctx.args.bool('no-stream')) {
      const tasks = await tasksOf(c, ctx);
      const samples = await Promise.all(tasks.map((t) => sampleOf(c, t)));
      if (format === 'json') ctx.stdout.write(samples.flatMap((s) => (typeof s === 'object' ? [`${JSON.stringify(s)}\n`] : [])).join(''));
      else ctx.stdout.write(formatList(format, statsColumns, tasks.map((t, i) => cells(t, samples[i]!))));
      return 0;
    }
    return untilInterrupted(ctx, (signal) => streamStats(c, ctx, format, signal));
  });
}

/** The live table (or JSON lines): one stats stream per task, redrawn whenever a sample comes. */
async function streamStats(c: DaemonClient, ctx: VerbContext, format: ListFormat, signal: AbortSignal): Promise<void> {
  const named = ctx.args.operands.length > 0;
  const rows = new Map<string, RowState>();
  const views = new Map<string, TaskView>();
  const table = new LiveTable(ctx.stdout);
  let done = false;
  const draw = (): void => {
    if (format !== 'json' && !done && !signal.aborted) table.draw(formatList(format, statsColumns, [...rows].map(([id, s]) => cells(views.get(id)!, s))));
  };
  let scheduled = false;
  const redraw = (): void => {
    if (scheduled) return;
    scheduled = true;
    // Samples of several tasks that arrive together make one frame.
    setImmediate(() => {
      scheduled = false;
      draw();
    });
  };
  /** Streams one task's samples into its row until it exits. */
  const follow = async (t: TaskView): Promise<void> => {
    if (rows.has(t.id)) return;
    views.set(t.id, t);
    rows.set(t.id, isLive(t) ? 'pending' : 'exited');
    if (!isLive(t)) return;
    try {
      for await (const s of await c.statsStream(t.id, { signal })) {
        rows.set(t.id, s);
        if (format === 'json') ctx.stdout.write(`${JSON.stringify(s)}\n`);
        redraw();
      }
    } catch (err) {
      if (named && !signal.aborted && !(await hasExited(c, t.id))) throw err;
    }
    // A task named stays, at zero, as in docker; one that was only listed leaves the table.
    if (named) rows.set(t.id, 'exited');
    else rows.delete(t.id);
    redraw();
  };
  if (named) {
    const streams = (await tasksOf(c, ctx)).map(follow);
    draw();
    // Ends once every task named has exited (or on ctrl-C), with a last frame.
    await Promise.all(streams);
    draw();
    done = true;
    return;
  }
  // Subscribed before listing, so a task that starts in between is not missed (follow skips doubles).
  const events = await c.events({ signal });
  for (const t of await tasksOf(c, ctx)) void follow(t);
  draw();
  for await (const e of events) {
    if (e.type !== 'start') continue;
    const t = await c.getTask(e.id, { signal }).catch(() => null);
    if (t) void follow(t);
  }
}
