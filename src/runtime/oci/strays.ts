import fs from 'node:fs';
import path from 'node:path';
import { isAlive } from '../../pidAlive.js';
import { processesByArgv } from '../../procArgv.js';
import { runscStateName } from './runscState.js';

/** The names runsc gives the processes it starts for a sandbox (its `argv[0]`). */
const runscHelpers = new Set(['runsc-sandbox', 'runsc-gofer']);

/**
 * The pids of runsc's own processes for container `id` under `root` (the sandbox, and its gofer
 * while it lives), found by their command line: runsc starts them as `runsc-sandbox` /
 * `runsc-gofer` with the global flags of the call, `--root=<root>` among them, and the container
 * id as the last argument. `id` is the runtime's (`Runsc.runtimeId`).
 *
 * Why: a `runsc create` (or `run`, `restore`) killed before it wrote the container's state —
 * cut off at its time limit, aborted, or killed from outside — leaves a sandbox that no runsc
 * command can name any more: `delete --force` of the id exits 0 and leaves it. Measured here with
 * `--platform=kvm`, whose sandbox spins at 100 % of a core forever, and whose control socket,
 * named after the id, makes every later create of that id fail with "address already in use".
 */
export function runscStrays(root: string, id: string): number[] {
  return processesByArgv((argv) => runscHelpers.has(argv[0]!) && argv.at(-1) === id && argv.includes(`--root=${root}`));
}

/**
 * Cleans up after a `runsc create` (or `run`, `restore`) of `id` under `root` that was killed
 * before it saved the container's state: kills what {@link runscStrays} finds and looks again
 * until none of it runs (a zombie waits only for its reaper), for at most `withinMs`, and removes the lock file
 * runsc left, `<id>_sandbox:<id>.lock`. Where the state was saved it does nothing: runsc can find
 * that container, and its (forced) delete is the caller's to run. Resolves with the pids it killed.
 * Only for an id whose making the caller owned: the match is by root and id, nothing more.
 */
export async function cleanKilledCreate(root: string, id: string, withinMs = 2000): Promise<number[]> {
  if (fs.existsSync(path.join(root, runscStateName(id, 'state')))) return [];
  const killed = new Set<number>();
  // Looked for again after each kill, until a look finds none alive: a helper the killed create
  // had forked could still be in its exec (its command line not runsc's yet) at the first look,
  // and it runs on in a session of its own. SIGKILL takes effect when the kernel next schedules a
  // process: a few ms at most. A killed one in the middle of its exit has no command line any more
  // (its memory went first) but is not dead yet: waited for by pid, never signalled again (the pid
  // could be another process's by then).
  const until = Date.now() + withinMs;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    const live = runscStrays(root, id).filter(isAlive);
    const exiting = [...killed].filter((pid) => !live.includes(pid) && isAlive(pid));
    if ((live.length === 0 && exiting.length === 0) || Date.now() >= until) break;
    for (const pid of live) {
      killed.add(pid);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  fs.rmSync(path.join(root, runscStateName(id, 'lock')), { force: true });
  return [...killed];
}
