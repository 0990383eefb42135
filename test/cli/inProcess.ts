/**
 * Runs a `taskio` command line in the test's own process (`main` with collected stdout and
 * stderr): for the lines the command refuses before it reaches the daemon, and for the plain lines
 * of the end-to-end tests ({@link plainLine}), where a fresh Node per line costs most of a test's
 * time and shows nothing more.
 */
import { Readable } from 'node:stream';
import { Collector } from '../helpers/common.js';
import { main, type CommandIO } from '../../src/cli/command.js';
import { parseFlags } from '../../src/cli/flags.js';
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

/**
 * Runs `taskio ARGV…` in this process with environment `env`, collecting what it prints. Its stdin
 * is empty and no terminal, as the spawned command's /dev/null.
 */
export async function inProcess(argv: string[], table: VerbTable = verbs, env: NodeJS.ProcessEnv = {}): Promise<InProcessResult> {
  const stdout = new Collector();
  const stderr = new Collector();
  const io = { stdin: Readable.from([]), stdout, stderr, env } as unknown as CommandIO;
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

/** Verbs whose whole run is a few requests to the daemon and what they print. */
const askingVerbs = new Set(['create', 'rm', 'inspect', 'ps', 'kill', 'stop', 'pause', 'unpause', 'restart', 'update', 'top', 'wait', 'info', 'version']);

/**
 * Whether `taskio ARGV…` is a plain line: one that asks the daemon and prints, with nothing of its
 * own process in play — no stdin, terminal or signal handler (nothing attached), no working
 * directory (no `cp`), no stream that runs until the command is killed — so that running it in the
 * test's process ({@link inProcess}) shows all that the spawned command would. The verbs' own
 * process — its exit code, stdio, signals and terminal — is tested through the spawned command
 * (every attached, streaming or interactive line, `cli.test.ts`, and any line with
 * `TASKIO_TEST_SPAWN=1` in the environment, which spawns them all).
 */
export function plainLine(argv: readonly string[]): boolean {
  if (process.env['TASKIO_TEST_SPAWN']) return false;
  const [name, ...rest] = argv;
  const verb = name !== undefined && Object.hasOwn(verbs, name) ? verbs[name] : undefined;
  if (!verb) return false;
  let a;
  try {
    a = parseFlags(verb.spec, rest);
  } catch {
    return false; // the usage error, as the command prints it
  }
  if (a.help) return false;
  if (askingVerbs.has(name!)) return true;
  switch (name) {
    case 'run': return a.bool('detach');
    case 'exec': return a.bool('detach');
    case 'start': return !a.bool('attach') && !a.bool('interactive');
    case 'logs': return !a.bool('follow');
    case 'events': return a.given('until');
    case 'stats': return a.bool('no-stream');
    case 'prune': return a.bool('force');
    default: return false;
  }
}
