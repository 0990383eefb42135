import type { Process } from '../runtime/proc/index.js';
import type { ProcessInfo } from './procStat.js';

/** What killing a check's processes in a runsc sandbox needs of its task. */
export interface SandboxSignals {
  /** The task's processes, with the sandbox's own pids and parents (runsc's `ps` table). */
  processes(): Promise<ProcessInfo[]>;
  /** Signals one process of the task by its sandbox pid (`runsc kill --pid`). */
  signalProcess(pid: number, signal: number): Promise<void>;
}

const SIGKILL = 9;
const SIGSTOP = 19;

/** How many times the table is read for children forked meanwhile (each read finds those of the processes stopped after the last). */
const maxRounds = 10;

/** `root` and its descendants in `table` (parents before their children); empty when `root` is not in it. */
function descendants(table: ProcessInfo[], root: number): number[] {
  if (!table.some((p) => p.pid === root)) return [];
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const p of table) if (p.ppid === tree[i] && !tree.includes(p.pid)) tree.push(p.pid);
  }
  return tree;
}

/**
 * Kills the process `root` of a runsc sandbox and every descendant of it. runsc signals one sandbox
 * pid at a time (`kill --pid`, no process group: a negative pid is refused), and its table has no
 * session or group, only parents — which a killed parent's children lose (they go to the task's
 * init). So the tree is stopped first, parents before children, and the table read again until it
 * shows no unstopped descendant (a stopped process forks no more, and keeps its children's parent
 * link); then all of it is killed. What it cannot reach: a process whose parent in the tree exited
 * on its own before the first read (a double fork), which runsc's table no longer ties to `root`.
 * @returns the pids killed (none when `root` is gone).
 */
export async function killSandboxTree(root: number, task: SandboxSignals): Promise<number[]> {
  const stopped: number[] = [];
  for (let round = 0; round < maxRounds; round++) {
    const fresh = descendants(await task.processes(), root).filter((pid) => !stopped.includes(pid));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      await task.signalProcess(pid, SIGSTOP).catch(() => undefined); // gone meanwhile: nothing to stop
      stopped.push(pid);
    }
  }
  for (const pid of stopped) await task.signalProcess(pid, SIGKILL).catch(() => undefined);
  return stopped;
}

/**
 * Kills a check that ran out of time, or whose task stopped, with every process it started. docker
 * kills the exec's process alone (containerd's kill of the exec), so the children of a `sh -c`
 * stay in the container, one set per timed-out check; here they go too:
 * - host and runc: the check's process group — both start an exec as a session leader (the host
 *   runtime with `setsid`, runc's `nsexec` calls `setsid()`), and a `sh -c` without job control
 *   keeps its children in that group. The group is the check's own while its leader is not reaped:
 *   no other group can have that id.
 * - runsc: its process has no host pid; the tree under its sandbox pid ({@link killSandboxTree}),
 *   then the process itself through the runtime in case the table could not be read.
 */
export async function killCheck(p: Process, task: SandboxSignals): Promise<void> {
  if (p.internalPid() === 0 && p.pid() > 0 && p.running()) {
    try {
      process.kill(-p.pid(), 'SIGKILL');
      return;
    } catch {
      // no group of its own: the process alone, below
    }
  }
  if (p.internalPid() > 0 && p.running()) await killSandboxTree(p.internalPid(), task).catch(() => undefined); // the sandbox went: so did the check
  await p.kill('SIGKILL').catch(() => undefined); // gone meanwhile, or its task: nothing left to kill
}
