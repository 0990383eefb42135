import type { FlagSpec, VerbSpec } from './flags.js';
import { commandGroups, verbAliases, type CommandGroup } from './groups.js';

/** One option line before alignment: `  -s, --signal string` and its description. */
function optionLine(flag: FlagSpec): [string, string] {
  let left = flag.short ? `  -${flag.short}, --${flag.name}` : `      --${flag.name}`;
  if (flag.kind !== 'bool') left += ` ${flag.valueName ?? (flag.kind === 'list' ? 'list' : 'string')}`;
  let text = flag.description;
  if (flag.default !== undefined && flag.default !== '') {
    // pflag quotes the default of a string flag and shows other kinds bare: (default "KILL"), (default 10), (default true).
    const quoted = flag.kind !== 'bool' && (flag.valueName ?? 'string') === 'string';
    text += quoted ? ` (default ${JSON.stringify(flag.default)})` : ` (default ${flag.default})`;
  }
  return [left, text];
}

/** Left column and text, the text aligned 3 spaces after the longest left column (pflag's layout). */
function aligned(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, r]) => `${l.padEnd(width)}   ${r}\n`).join('');
}

/**
 * A verb's `--help`, in docker's layout: a blank line, `Usage:  taskio run [OPTIONS] …`, the
 * summary, the other names it has (`taskio container run, taskio run`), and the options sorted by
 * name. `typed` is the name it was asked for: `container ls` for `taskio container ls --help`.
 */
export function verbHelp(spec: VerbSpec, typed = spec.name): string {
  let out = `\nUsage:  taskio ${typed}${spec.usage ? ` ${spec.usage}` : ''}\n\n${spec.summary}\n`;
  const aliases = verbAliases(spec.name);
  if (aliases.length > 1) out += `\nAliases:\n  ${aliases.join(', ')}\n`;
  if (spec.flags.length > 0) {
    const flags = [...spec.flags].sort((a, b) => (a.name < b.name ? -1 : 1));
    out += `\nOptions:\n${aligned(flags.map(optionLine))}`;
  }
  return out;
}

/** Command lines `  name  summary`, sorted, with cobra's name padding of 11. */
function commandLines(rows: Array<[string, string]>): string {
  const sorted = [...rows].sort(([a], [b]) => (a < b ? -1 : 1));
  const pad = Math.max(11, ...sorted.map(([name]) => name.length));
  return sorted.map(([name, text]) => `  ${name.padEnd(pad)} ${text}\n`).join('');
}

/**
 * The top-level help: usage, docker's management commands (`container`, `system`), the verbs, the
 * global options.
 */
export function commandHelp(summary: string, specs: VerbSpec[]): string {
  const groups = Object.entries(commandGroups).map(([name, g]): [string, string] => [name, g.summary]);
  return `\nUsage:  taskio [OPTIONS] COMMAND\n\n${summary}\n\nManagement Commands:\n${commandLines(groups)}\nCommands:\n`
    + commandLines(specs.map((v) => [v.name, v.summary]))
    + `\nGlobal Options:\n${aligned([['  -h, --help', 'Print usage'], ['  -v, --version', 'Print version information and quit']])}`
    + `\nRun 'taskio COMMAND --help' for more information on a command.\n`;
}

/** A management command's help (`taskio container`, `taskio container --help`): its commands by their first name. */
export function groupHelp(name: string, group: CommandGroup, specs: readonly VerbSpec[]): string {
  const rows = group.commands.flatMap((c): Array<[string, string]> => {
    const spec = specs.find((s) => s.name === c.verb);
    return spec ? [[c.name, spec.summary]] : [];
  });
  return `\nUsage:  taskio ${name} COMMAND\n\n${group.summary}\n\nCommands:\n${commandLines(rows)}`
    + `\nRun 'taskio ${name} COMMAND --help' for more information on a command.\n`;
}
