/**
 * Runs the built `taskio` command (its bundle, dist/cli/taskio.cjs, as bin/taskio does, with this
 * Node) against a test's own state root, for the end-to-end tests of the verbs. (`cli.test.ts`
 * runs it through its shebang.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Test } from 'tap';
import { cliMain } from '../daemon/helpers.js';

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
  // `--` as bin/taskio passes it: Node 20 would take a `--env-file` after the script as its own.
  const child = spawn(process.execPath, ['--', cliMain, ...args], {
    env: taskioEnv(root), stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...(cwd !== undefined ? { cwd } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  if (input !== undefined) {
    child.stdin!.on('error', () => undefined); // the task may exit before it read all of it
    child.stdin!.end(input);
  }
  const result = new Promise<TaskioResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return Object.assign(child, { result, output: () => stdout });
}

/** Starts `taskio ARGS…` on state root `root`; killed with the test if it still runs then. */
export function startTaskio(t: Pick<Test, 'teardown'>, root: string, args: string[]): TaskioChild {
  const child = spawnTaskio(root, args);
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return child;
}

/** Runs `taskio ARGS…` on state root `root` to its end. */
export function taskio(t: Pick<Test, 'teardown'>, root: string, ...args: string[]): Promise<TaskioResult> {
  return startTaskio(t, root, args).result;
}
