import { inspect } from 'node:util';
import { exitCodeOf, exitOwnError } from './exitCode.js';
import { parseFlags, UsageError, type VerbSpec } from './flags.js';
import { commandGroups, groupCommand } from './groups.js';
import type { VerbContext, VerbTable } from './verb.js';

/** The streams and environment the command runs with (the process's own, or a test's). */
export interface CommandIO {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

const summary = 'The stdio of long-running tasks: run them in a sandbox, leave, reattach, read their logs';

/** The top level: `taskio [--help|--version] VERB …`; flags stop at the verb. */
const topSpec: VerbSpec = {
  name: '',
  usage: '',
  summary,
  interspersed: false,
  operands: { min: 0 },
  flags: [{ name: 'version', short: 'v', kind: 'bool', description: 'Print version information and quit' }],
};

/**
 * The one line the command prints for an error: `taskio run: <message>` (the verb that failed),
 * newlines folded, and for a usage error docker's pointer `See 'taskio run --help'.`. Never a stack
 * trace, unless `TASKIO_DEBUG=1`, which adds the whole error (stack, code, cause) below.
 */
export function errorLine(err: unknown, command: string, env: NodeJS.ProcessEnv = process.env): string {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ').trim();
  let line = `${err instanceof UsageError ? err.command : command}: ${message}`;
  if (err instanceof UsageError) line += `${/[.!?]$/.test(message) ? '' : '.'} See '${err.command} --help'.`;
  if (env['TASKIO_DEBUG'] === '1') line += `\n${inspect(err)}`;
  return `${line}\n`;
}

/** `taskio help [VERB]`: the top-level help, a management command's, or a verb's (as `taskio VERB --help`). */
export async function help(ctx: VerbContext): Promise<void> {
  const { commandHelp, groupHelp, verbHelp } = await import('./help.js');
  const [topic] = ctx.args.operands;
  const specs = Object.values(ctx.verbs).map((v) => v.spec);
  if (topic === undefined) {
    ctx.stdout.write(commandHelp(summary, specs));
    return;
  }
  const group = Object.hasOwn(commandGroups, topic) ? commandGroups[topic] : undefined;
  if (group) {
    ctx.stdout.write(groupHelp(topic, group, specs));
    return;
  }
  const verb = Object.hasOwn(ctx.verbs, topic) ? ctx.verbs[topic] : undefined;
  if (!verb) throw new UsageError(ctx.command, `unknown help topic: ${topic}`);
  ctx.stdout.write(verbHelp(verb.spec));
}

/**
 * Runs one `taskio` command line: finds the verb in `verbs`, parses its flags, prints its help or
 * runs it, and returns the exit code by docker's rules ({@link exitCodeOf}). Every error is one line
 * on stderr ({@link errorLine}).
 */
export async function main(argv: readonly string[], verbs: VerbTable, io: CommandIO = process): Promise<number> {
  let command = 'taskio';
  try {
    const top = parseFlags(topSpec, argv, command);
    let [name, ...rest] = top.operands;
    // The help and the version are imported only to be printed: a verb's run loads neither.
    if (top.bool('version')) {
      io.stdout.write(`${(await import('../packageFiles.js')).packageVersion()}\n`);
      return 0;
    }
    if (name === undefined || top.help) {
      io.stdout.write((await import('./help.js')).commandHelp(summary, Object.values(verbs).map((v) => v.spec)));
      return 0;
    }
    // docker's management commands: `taskio container ls` runs `ps`, named as typed.
    let typed = name;
    const group = Object.hasOwn(commandGroups, name) ? commandGroups[name] : undefined;
    if (group) {
      command = `taskio ${name}`;
      const [sub, ...subRest] = rest;
      if (sub === undefined || sub === '--help' || sub === '-h') {
        io.stdout.write((await import('./help.js')).groupHelp(name, group, Object.values(verbs).map((v) => v.spec)));
        return 0;
      }
      const found = groupCommand(group, sub, verbs);
      if (!found) throw new UsageError(command, `'${sub}' is not a taskio ${name} command.`);
      [name, typed, rest] = [found.verb, `${name} ${sub}`, subRest];
    }
    const verb = Object.hasOwn(verbs, name) ? verbs[name] : undefined;
    if (!verb) throw new UsageError(command, `'${name}' is not a taskio command.`);
    command = `taskio ${typed}`;
    const args = parseFlags(verb.spec, rest, command);
    if (args.help) {
      io.stdout.write((await import('./help.js')).verbHelp(verb.spec, typed));
      return 0;
    }
    const run = await verb.load();
    // Not `...io`: spreading `process` would read every getter it has, and making `process.stdin`
    // costs a stream (and its module) that most verbs never touch.
    const ctx: VerbContext = { command, args, get stdin() { return io.stdin; }, stdout: io.stdout, stderr: io.stderr, env: io.env, verbs };
    return exitCodeOf((await run(ctx)) ?? 0);
  } catch (err) {
    io.stderr.write(errorLine(err, command, io.env));
    return exitCodeOf(err);
  }
}

/**
 * For the executable only: an error that escapes every verb (a throw in a stream callback, a
 * rejection nobody awaited) still ends the command with one line and 125, not Node's stack trace.
 * Exiting runs the `'exit'` handlers, so a raw terminal is restored.
 */
export function installFatalHandlers(io: Pick<CommandIO, 'stderr' | 'env'> = process): void {
  const fatal = (err: unknown): void => {
    io.stderr.write(errorLine(err, 'taskio', io.env));
    process.exit(exitOwnError);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
}
