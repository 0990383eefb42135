/**
 * Runs the built `taskio` command (dist/cli/main.js, through its shebang) against a test's own
 * state root, for the end-to-end tests of the verbs.
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

/** The command's environment for state root `root` (no debug output, so error lines are exact). */
export function taskioEnv(root: string): NodeJS.ProcessEnv {
  return { ...process.env, TASKIO_ROOT: root, TASKIO_DEBUG: '' };
}

/** Starts `taskio ARGS…` on state root `root`; killed with the test if it still runs then. */
export function startTaskio(t: Pick<Test, 'teardown'>, root: string, args: string[]): ChildProcess & { result: Promise<TaskioResult>; output(): string } {
  const child = spawn(cliMain, args, { env: taskioEnv(root), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const result = new Promise<TaskioResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  return Object.assign(child, { result, output: () => stdout });
}

/** Runs `taskio ARGS…` on state root `root` to its end. */
export function taskio(t: Pick<Test, 'teardown'>, root: string, ...args: string[]): Promise<TaskioResult> {
  return startTaskio(t, root, args).result;
}
