/**
 * Runs the built `taskio` command (its bundle, dist/cli/taskio.cjs, as bin/taskio does, with this
 * Node) against a test's own state root, for the end-to-end tests of the verbs. (`cli.test.ts`
 * runs it through its shebang.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Test } from 'tap';
import { cliMain } from '../daemon/helpers.js';
import { inProcessLine, plainLine } from './inProcess.js';

/** How a run of the command ended and what it printed. */
export interface TaskioResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running command: the child, what it printed so far, and how it ends. */
export type TaskioChild = ChildProcess & { result: Promise<TaskioResult>; output(): string };

/** The command's environment for state root `root` (no debug output, so error lines are exact). */
export function taskioEnv(root: string): NodeJS.ProcessEnv {
  return { ...process.env, TASKIO_ROOT: root, TASKIO_DEBUG: '' };
}

/**
 * Spawns `taskio ARGS…` on state root `root`, `input` on its stdin (none: /dev/null), collecting
 * what it prints; in `cwd` (default: this process's).
 */
export function spawnTaskio(root: string, args: string[], input?: Buffer | string, cwd?: string): TaskioChild {
  const child = spawnCollecting(root, args, input === undefined ? 'ignore' : 'pipe', cwd);
  if (input !== undefined) {
    child.stdin!.on('error', () => undefined); // the task may exit before it read all of it
    child.stdin!.end(input);
  }
  return child;
}

/**
 * Starts `taskio ARGS…` on state root `root` with its stdin a pipe left open: the test writes it
 * (an answer to what the task printed) and ends it. Killed with the test if it still runs then.
 */
export function startInteractive(t: Pick<Test, 'teardown'>, root: string, args: string[]): TaskioChild {
  const child = spawnCollecting(root, args, 'pipe');
  child.stdin!.on('error', () => undefined);
  return killedWithTest(t, child);
}

/** Resolves once `child` printed `text` on its stdout; rejects when it ends without it. */
export function printed(child: TaskioChild, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!child.output().includes(text)) return;
      child.stdout!.off('data', check);
      resolve();
    };
    child.stdout!.on('data', check);
    void child.result.then((r) => reject(new Error(`the command ended (${r.code}) without printing ${JSON.stringify(text)}; stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`)), reject);
    check();
  });
}

function spawnCollecting(root: string, args: string[], stdin: 'ignore' | 'pipe', cwd?: string): TaskioChild {
  // `--` as bin/taskio passes it: Node 20 would take a `--env-file` after the script as its own.
  const child = spawn(process.execPath, ['--', cliMain, ...args], {
    env: taskioEnv(root), stdio: [stdin, 'pipe', 'pipe'], ...(cwd !== undefined ? { cwd } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const result = new Promise<TaskioResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return Object.assign(child, { result, output: () => stdout });
}

/** Starts `taskio ARGS…` on state root `root`; killed with the test if it still runs then. */
export function startTaskio(t: Pick<Test, 'teardown'>, root: string, args: string[]): TaskioChild {
  return killedWithTest(t, spawnTaskio(root, args));
}

function killedWithTest(t: Pick<Test, 'teardown'>, child: TaskioChild): TaskioChild {
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return child;
}

/**
 * Runs `taskio ARGS…` on state root `root` to its end, `input` on its stdin (none: /dev/null): a
 * plain line ({@link plainLine}) in this process, any other through the command.
 */
export function runTaskio(root: string, args: string[], input?: Buffer | string): Promise<TaskioResult> {
  return input === undefined && plainLine(args) ? inProcessLine(root, args) : spawnTaskio(root, args, input).result;
}

/** Runs `taskio ARGS…` on state root `root` to its end (see {@link runTaskio}); a command still running at the test's end is killed. */
export function taskio(t: Pick<Test, 'teardown'>, root: string, ...args: string[]): Promise<TaskioResult> {
  return plainLine(args) ? inProcessLine(root, args) : startTaskio(t, root, args).result;
}
