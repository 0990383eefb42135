/**
 * Runs a `taskio` command line in the test's own process (`main` with collected stdout and
 * stderr): for the lines the command refuses before it reaches the daemon, where a fresh Node per
 * case costs most of a test's time and shows nothing more.
 */
import { Collector } from '../helpers/common.js';
import { main, type CommandIO } from '../../src/cli/command.js';
import type { VerbTable } from '../../src/cli/verb.js';
import { verbs } from '../../src/cli/verbs.js';
import type { Test } from 'tap';
import { taskio, type TaskioResult } from './taskioCommand.js';

/** How an in-process run of the command ended and what it printed. */
export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `taskio ARGV…` in this process with environment `env`, collecting what it prints. */
export async function inProcess(argv: string[], table: VerbTable = verbs, env: NodeJS.ProcessEnv = {}): Promise<InProcessResult> {
  const stdout = new Collector();
  const stderr = new Collector();
  const io = { stdin: process.stdin, stdout, stderr, env } as unknown as CommandIO;
  const code = await main(argv, table, io);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/**
 * Runs a command line a test expects refused (exit 125, one line): through the real command when
 * `viaCommand` (one of each kind, and every one the daemon refuses), else in this process.
 */
export async function refusedLine(t: Pick<Test, 'teardown'>, root: string, argv: string[], viaCommand: boolean): Promise<InProcessResult | TaskioResult> {
  return viaCommand ? taskio(t, root, ...argv) : inProcess(argv, verbs, { TASKIO_ROOT: root });
}
