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
import { taskio, taskioEnv, type TaskioResult } from './taskioCommand.js';

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
export function refusedLine(t: Pick<Test, 'teardown'>, root: string, argv: string[], viaCommand: boolean): Promise<TaskioResult> {
  return viaCommand ? taskio(t, root, ...argv) : inProcessLine(root, argv);
}

/** Runs `taskio ARGV…` on state root `root` in this process, with the spawned command's environment. */
export async function inProcessLine(root: string, argv: string[]): Promise<TaskioResult> {
  return { ...await inProcess(argv, verbs, taskioEnv(root)), signal: null };
}

/** Verbs whose whole run is a few requests to the daemon and what they print. */
const askingVerbs = new Set(['create', 'rm', 'inspect', 'ps', 'kill', 'stop', 'pause', 'unpause', 'restart', 'update', 'top', 'wait', 'info', 'version']);

let spawnAll = Boolean(process.env['TASKIO_TEST_SPAWN']);

/**
 * For a file that tests the command's own process — its exit, its stdio, the signals it takes — or
 * any verb's process (`TASKIO_TEST_SPAWN=1` in the environment): every line of it spawns the command.
 */
export function spawnEveryLine(): void {
  spawnAll = true;
}

/**
 * Whether `taskio ARGV…` is a plain line: one whose process shows nothing the test asks about, so
 * that running it in the test's process ({@link inProcess}) shows all that the spawned command
 * would. That is a line with no stdin or terminal of its own (no `-i`, no `-t`, no `-` of `cp`)
 * that ends by itself: it asks the daemon and prints, or prints a task's output until the task
 * ends (`run` and `exec` attached, `start -a`, `logs -f`). Not plain: `attach`, `events` and
 * `stats` without an end, `prune`'s prompt, a usage error or `--help`, and every line of a file
 * that called {@link spawnEveryLine}.
 */
export function plainLine(argv: readonly string[]): boolean {
  if (spawnAll) return false;
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
    case 'run':
    case 'exec': return a.bool('detach') || (!a.bool('interactive') && !a.bool('tty'));
    case 'start': return !a.bool('interactive');
    case 'logs': return true;
    case 'cp': return !a.operands.includes('-');
    case 'events': return a.given('until');
    case 'stats': return a.bool('no-stream');
    case 'prune': return a.bool('force');
    default: return false;
  }
}
