import readline from 'node:readline';
import type { PruneFilters } from '../daemon/prune.js';
import { withDaemon } from './daemonClient.js';
import type { PruneFilter } from './pruneFilter.js';
import { humanSize } from './units.js';
import type { VerbContext } from './verb.js';

const warning = 'WARNING! This will remove all stopped tasks.\nAre you sure you want to continue? [y/N] ';

/** Asks on the command's stdin; only `y` or `yes` (any case) goes on, as docker's prompt. */
async function confirmed(ctx: VerbContext): Promise<boolean> {
  ctx.stdout.write(warning);
  const rl = readline.createInterface({ input: ctx.stdin, terminal: false });
  try {
    for await (const line of rl) return /^y(es)?$/i.test(line.trim());
    return false; // the input ended unanswered
  } finally {
    rl.close();
  }
}

/**
 * `taskio prune [-f] [--filter F]…` (docker's container prune): removes every task that does not
 * run — exited, or created and never started — and that the filters select, after a `[y/N]`
 * prompt unless `-f`. Prints the ids removed and the space their directories held. Answering
 * anything but yes removes nothing and exits 0.
 */
export async function prune(ctx: VerbContext): Promise<number> {
  const filters: PruneFilters = {};
  for (const f of ctx.args.list<PruneFilter>('filter')) {
    if (f.key === 'until') filters.until = f.until; // the last one counts, as docker's
    else (filters[f.key] ??= []).push(f.value);
  }
  if (!ctx.args.bool('force') && !await confirmed(ctx)) return 0;
  return withDaemon(ctx, async (client) => {
    const report = await client.prune(filters);
    if (report.tasksDeleted.length > 0) ctx.stdout.write(`Deleted Tasks:\n${report.tasksDeleted.map((id) => `${id}\n`).join('')}\n`);
    ctx.stdout.write(`Total reclaimed space: ${humanSize(report.spaceReclaimed)}\n`);
    return 0;
  });
}
