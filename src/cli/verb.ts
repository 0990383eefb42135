import type { ParsedArgs, VerbSpec } from './flags.js';

/** What a verb gets to run: its parsed command line and the command's stdio and environment. */
export interface VerbContext {
  /** How messages name the verb: `taskio run`. */
  command: string;
  args: ParsedArgs;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /** The dispatch table (for `help`). */
  verbs: VerbTable;
}

/**
 * A verb's implementation. What it returns becomes the command's exit code through `exitCodeOf`:
 * nothing for 0, a number (the task's code), or an exit status; what it throws is reported on one
 * line and exits 125 (or 126/127 for a command that cannot be run or was not found).
 */
export type VerbRun = (ctx: VerbContext) => unknown;

/** One entry of the dispatch table: the verb's command line, and its code, loaded when it runs. */
export interface Verb {
  spec: VerbSpec;
  /** Imports the implementation only when this verb runs, so `taskio` starts fast whatever it has. */
  load(): Promise<VerbRun>;
}

/** Verbs by name. */
export type VerbTable = Readonly<Record<string, Verb>>;
