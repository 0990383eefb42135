import type { VerbTable } from './verb.js';

/** One command of a group: its name there, the verb it runs, and the other names docker gives it. */
export interface GroupCommand {
  name: string;
  verb: string;
  aliases?: readonly string[];
}

/** A management command of docker's (`docker container …`, `docker system …`): a name space of verbs. */
export interface CommandGroup {
  summary: string;
  commands: readonly GroupCommand[];
}

/** The same verb under its own name in a group: `taskio container attach` is `taskio attach`. */
const same = (...names: string[]): GroupCommand[] => names.map((name) => ({ name, verb: name }));

/**
 * docker's management commands, as people type them from habit: `taskio container ls -a` is
 * `taskio ps -a`, `taskio system info` is `taskio info`. Each runs the top-level verb with the same
 * flags; only the name in messages and help differs. Commands docker has there that mean nothing
 * for taskio (`commit`, `export`, `df`, …) are not taken.
 */
export const commandGroups: Readonly<Record<string, CommandGroup>> = {
  container: {
    summary: 'Manage tasks',
    commands: [
      ...same('attach', 'cp', 'create', 'exec', 'inspect', 'kill', 'logs'),
      { name: 'ls', verb: 'ps', aliases: ['list', 'ps'] },
      ...same('pause', 'prune', 'restart'),
      { name: 'rm', verb: 'rm', aliases: ['remove'] },
      ...same('run', 'start', 'stats', 'stop', 'top', 'unpause', 'update', 'wait'),
    ],
  },
  system: {
    summary: 'Manage taskio',
    commands: [...same('events', 'info'), { name: 'prune', verb: 'prune' }],
  },
};

/** The command of `group` that `name` (or one of its aliases) names, if `verbs` has its verb. */
export function groupCommand(group: CommandGroup, name: string, verbs: VerbTable): GroupCommand | undefined {
  const found = group.commands.find((c) => c.name === name || c.aliases?.includes(name) === true);
  return found !== undefined && Object.hasOwn(verbs, found.verb) ? found : undefined;
}

/** Every way to type `verb`, docker's "Aliases:" line: `taskio container ls, taskio container list, …, taskio ps`. */
export function verbAliases(verb: string): string[] {
  const names: string[] = [];
  for (const [groupName, group] of Object.entries(commandGroups)) {
    for (const c of group.commands) {
      if (c.verb === verb) names.push(...[c.name, ...(c.aliases ?? [])].map((n) => `taskio ${groupName} ${n}`));
    }
  }
  return [...names, `taskio ${verb}`];
}
