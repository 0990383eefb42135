import type { FlagSpec, VerbSpec } from './flags.js';

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
 * summary, and the options sorted by name.
 */
export function verbHelp(spec: VerbSpec): string {
  let out = `\nUsage:  taskio ${spec.name}${spec.usage ? ` ${spec.usage}` : ''}\n\n${spec.summary}\n`;
  if (spec.flags.length > 0) {
    const flags = [...spec.flags].sort((a, b) => (a.name < b.name ? -1 : 1));
    out += `\nOptions:\n${aligned(flags.map(optionLine))}`;
  }
  return out;
}

/** The top-level help: usage, the verbs (sorted, cobra's name padding of 11), the global options. */
export function commandHelp(summary: string, specs: VerbSpec[]): string {
  const verbs = [...specs].sort((a, b) => (a.name < b.name ? -1 : 1));
  const pad = Math.max(11, ...verbs.map((v) => v.name.length));
  return `\nUsage:  taskio [OPTIONS] COMMAND\n\n${summary}\n\nCommands:\n`
    + verbs.map((v) => `  ${v.name.padEnd(pad)} ${v.summary}\n`).join('')
    + `\nGlobal Options:\n${aligned([['  -h, --help', 'Print usage'], ['  -v, --version', 'Print version information and quit']])}`
    + `\nRun 'taskio COMMAND --help' for more information on a command.\n`;
}
