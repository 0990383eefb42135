import fs from 'node:fs';

/**
 * The pids of the processes whose arguments (`/proc/<pid>/cmdline`, split at its NULs) satisfy
 * `match`. A process that exits while it is looked at, or whose command line cannot be read, is
 * left out. Zombies have an empty command line, so no `match` that wants an argument sees them.
 */
export function processesByArgv(match: (argv: string[]) => boolean): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited while we looked, or not ours to read
    }
    if (argv.at(-1) === '') argv.pop();
    if (match(argv)) found.push(Number(entry));
  }
  return found;
}
