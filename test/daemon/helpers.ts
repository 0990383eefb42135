/**
 * Helpers for the daemon tests: a private state root per test (under /run, unique prefix), real
 * daemon processes from dist/, and a teardown that removes every task, stops the daemons and
 * checks that nothing is left (processes, runtime state, cgroups).
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import type { Test } from 'tap';
import { DaemonClient, connectDaemon, type ConnectOptions } from '../../src/daemon/index.js';
import { Collector, repoRoot } from '../helpers/common.js';
import { signalTask } from '../../src/daemon/procStat.js';
import { readJson } from '../../src/daemon/atomicJson.js';
import { isGone } from '../fixtures/oci.js';
import { Runsc } from '../../src/runtime/oci/index.js';
import { hierarchyMounts } from '../../src/runtime/jobobject/hierarchy.js';
import { jobPrefix } from '../../src/daemon/runtimes.js';
import { leftoverKinds } from '../../src/daemon/staleJobs.js';
import { processesByArgv } from '../../src/procArgv.js';
import { parentPid } from '../../src/runtime/reaper/children.js';

interface Teardown { teardown(fn: () => unknown): void; passing?(): boolean }

/** The built command as bin/taskio runs it: the bundle of dist/cli/main.js (scripts/bundleCli.mjs). */
export const cliMain = path.join(repoRoot, 'dist/cli/taskio.cjs');
export const daemonCommand = [process.execPath, cliMain, 'daemon'];

/**
 * A fresh state root `/run/taskio-dtest-<random>` (0700), cleaned up with the test. A test that
 * failed first shows the end of its daemons' log on stderr: a failure that comes once in many runs
 * (CI's) can then be read from the run's output, after the root is gone.
 */
export function daemonRoot(t: Teardown): string {
  const root = `/run/taskio-dtest-${crypto.randomBytes(5).toString('hex')}`;
  fs.mkdirSync(root, { mode: 0o700 });
  t.teardown(() => {
    if (t.passing?.() === false) showDaemonLog(root);
    return cleanRoot(root);
  });
  return root;
}

/** The last lines of `root`'s daemon log, each cut to 1,000 characters, on stderr. */
function showDaemonLog(root: string, lines = 60): void {
  let text: string;
  try {
    text = fs.readFileSync(path.join(root, 'daemon.log'), 'utf8');
  } catch (err) {
    text = `(no daemon log: ${(err as Error).message})`;
  }
  const tail = text.trimEnd().split('\n').slice(-lines).map((l) => l.slice(0, 1000));
  process.stderr.write(`# the daemon log of ${root}, last ${tail.length} lines:\n${tail.join('\n')}\n`);
}

/** The task directories under `root` (a failed command must leave none). */
export function taskDirs(root: string): string[] {
  try {
    return fs.readdirSync(path.join(root, 'tasks'));
  } catch {
    return [];
  }
}

/**
 * Every path under `dir` (relative, sorted; directories end in `/`): what a refused request must
 * leave as it was. Names only, not sizes (the daemon's log grows with every request).
 */
export function treeOf(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)) + (e.isDirectory() ? '/' : ''))
    .sort();
}

/** The pid in `<root>/daemon.lock` while a daemon holds it, else 0. */
export function daemonPid(root: string): number {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(root, 'daemon.lock'), 'utf8'), 10);
    return pid > 0 && !isGone(pid) ? pid : 0;
  } catch {
    return 0;
  }
}

/**
 * Whether all of process `pid` is gone: reaped, or a zombie whose every thread exited too. A
 * SIGKILLed Node process can show its main thread as a zombie while its other threads still exit,
 * and until the last one has, its fds — a daemon's listening socket — are still open: a client
 * connecting then is taken into the backlog and reset.
 */
function threadGroupGone(pid: number): boolean {
  if (!isGone(pid)) return false;
  try {
    return fs.readdirSync(`/proc/${pid}/task`).every((tid) => Number(tid) === pid);
  } catch {
    return true; // reaped
  }
}

/** Waits for `pid` to be gone (reaped, or a zombie with no thread left), checking every few ms. */
export async function waitGone(pid: number, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!threadGroupGone(pid)) {
    if (Date.now() > end) throw new Error(`pid ${pid} still runs`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Everything of a test root goes: tasks removed through the daemon when one runs (force), the
 * daemon stopped, then whatever is still there killed by pid and deleted from the runtimes'
 * state (a test that failed half-way), and the directory removed.
 */
export async function cleanRoot(root: string): Promise<void> {
  const pid = daemonPid(root);
  if (pid > 0) {
    const c = new DaemonClient(root, { start: false });
    try {
      for (const task of await c.listTasks({ all: true, signal: AbortSignal.timeout(10_000) })) {
        await c.remove(task.id, { force: true, signal: AbortSignal.timeout(20_000) }).catch(() => undefined);
      }
    } catch {
      // daemon not answering: the sweep below does it
    } finally {
      c.close();
    }
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
    await waitGone(pid).catch(() => undefined);
  }
  // A test body still running (it timed out) may have started another one on demand.
  const late = daemonPid(root);
  if (late > 0 && late !== pid) {
    try { process.kill(late, 'SIGKILL'); } catch { /* gone */ }
    await waitGone(late).catch(() => undefined);
  }
  sweepTasks(root);
  // The exit recorders of its daemons go once nothing of their tasks is left (the sweep above, the
  // test's own teardowns, which run before this one): one that stays has orphans of a failed test.
  const recorders = daemonProcesses(root);
  await Promise.all(recorders.map((p) => waitGone(p, 10_000).catch(() => {
    process.stderr.write(`# an exit recorder of ${root} (${p}) still runs with children: killed\n`);
    try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
  })));
  // A recorder killed above may have been writing a record: the removal tries again.
  await removeByHand(root);
  await sweepCgroupsOf(root);
}

/**
 * Removes the empty cgroups `root`'s tasks left — host tasks' jobs and runsc/runc tasks' cgroups —
 * as the next daemon's start would (`sweepStaleJobs`); no daemon starts on a root removed here. A
 * test that ended with its daemon SIGKILLed (and its tasks killed by hand above) left them: one per
 * run of such a test piled up on the host. Waits for the tasks' processes to be gone (a SIGKILLed
 * group leaves its cgroup a moment after); one still busy after that is reported, not removed.
 */
async function sweepCgroupsOf(root: string): Promise<void> {
  const prefix = jobPrefix(root);
  const left = async (): Promise<string[]> => {
    const busy: string[] = [];
    for (const kind of leftoverKinds) {
      for (const name of await kind.names(prefix)) {
        try {
          await kind.remove(name);
        } catch {
          busy.push(name); // processes still in it
        }
      }
    }
    return busy;
  };
  let busy: string[] = [];
  await eventually(async () => (busy = await left()).length === 0, 'the cgroups of the root\'s tasks to empty', 10_000)
    .catch(() => process.stderr.write(`# cgroups of ${root} still hold processes: ${busy.join(', ')}\n`));
}

/**
 * The processes of `taskio daemon --root <root>`: the daemons, and the exit recorders above them
 * (which run the same command), including those whose daemon died and that wait for its orphans.
 */
export function daemonProcesses(root: string): number[] {
  return processesByArgv((argv) => argv.includes('daemon') && argv.some((a, i) => a === '--root' && argv[i + 1] === root)).filter((p) => !isGone(p));
}

/** The exit recorder above the daemon `pid` (its parent, which runs the same command), or 0 when it has none. */
export function recorderOf(pid: number): number {
  try {
    const ppid = parentPid(pid) ?? 0;
    const argv = (p: number): string => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter((a) => a !== '--').join(' ');
    return ppid > 1 && argv(ppid) === argv(pid) ? ppid : 0;
  } catch {
    return 0;
  }
}

/**
 * Removes `root` as a user would by hand (`rm -rf`) after its daemon died. The dead daemon's exit
 * recorder lives on while anything it holds runs, and writes the exits of what was killed into
 * `<root>/exits` as they come (for a runsc task, one process after another): a removal that races
 * such a write fails with `ENOTEMPTY` and is made again, as `rm -rf` run again would be, until it
 * wins (at most `ms`). Node's own `maxRetries` does not help here: on Linux it retries nothing.
 */
export async function removeByHand(root: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      fs.rmSync(root, { recursive: true, force: true });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' || Date.now() > until) throw err;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

type Keeper = { pid: number; startTime: string };
type SweptRecord = { runtime: string; runtimeCommand: string | null; runtimeRoot: string | null; pid: number; pidStartTime: string | null; outputKeeper?: Keeper; consoleKeeper?: Keeper; inputKeeper?: Keeper };

/** The task records under `root` a test left, by id (unreadable ones left out). */
function taskRecords(root: string): Array<[string, SweptRecord]> {
  const tasks = path.join(root, 'tasks');
  let ids: string[] = [];
  try {
    ids = fs.readdirSync(tasks);
  } catch {
    return [];
  }
  const out: Array<[string, SweptRecord]> = [];
  for (const id of ids) {
    try {
      // Not a blocking open: a test may plant a FIFO there.
      const rec = readJson<SweptRecord>(path.join(tasks, id, 'task.json'));
      if (rec) out.push([id, rec]);
    } catch {
      // not a record
    }
  }
  return out;
}

/**
 * Kills the output keepers the task records under `root` name, and returns a function that does it
 * again: a keeper outlives its daemon by design, so a test that removes a root by hand (after its
 * daemon died) takes them first and kills them at its teardown.
 */
export function killKeepersLater(root: string): () => void {
  const keepers = taskRecords(root).flatMap(([, rec]) => [rec.outputKeeper ?? rec.consoleKeeper, rec.inputKeeper].filter((k) => k !== undefined));
  return () => {
    for (const k of keepers) try { signalTask(k.pid, k.startTime, 'SIGKILL', false); } catch { /* gone */ }
  };
}

/** Kills and deletes, from their records, tasks a test left behind. */
export function sweepTasks(root: string): void {
  killKeepersLater(root)();
  for (const [id, rec] of taskRecords(root)) {
    if (rec.runtime === 'host' && rec.pid > 0) {
      // Only the task's own group: its pid may be another test's process by now.
      try { signalTask(rec.pid, rec.pidStartTime, 'SIGKILL', true); } catch { /* gone */ }
    } else if (rec.runtimeCommand && rec.runtimeRoot) {
      const runtimeId = new Runsc({ command: rec.runtimeCommand, root: rec.runtimeRoot }).runtimeId(id);
      spawnSync(rec.runtimeCommand, ['--root', rec.runtimeRoot, ...(rec.runtime === 'runsc' ? ['--network=none'] : []), 'delete', '--force', runtimeId], { stdio: 'ignore' });
    }
  }
}

/** The id runtime `runtime` (`runsc`, `runc`) of the daemon at `root` knows task `id` by (`Runsc.runtimeId`). */
export function runtimeIdOf(root: string, runtime: string, id: string): string {
  return new Runsc({ command: runtime, root: path.join(root, 'runtime', runtime) }).runtimeId(id);
}

/** Connects to (and starts on demand) the daemon of `root`. */
export function client(root: string, opts: ConnectOptions = {}): Promise<DaemonClient> {
  return connectDaemon(root, { daemonCommand, ...opts });
}

/** Starts `taskio daemon --root <root>` as a child process and waits for its socket to answer. */
export async function foregroundDaemon(root: string, env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [cliMain, 'daemon', '--root', root], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const c = new DaemonClient(root, { start: false });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${err}`);
      try {
        await c.version({ signal: AbortSignal.timeout(2000) });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  } finally {
    c.close();
  }
  return { child, stderr: () => err };
}

/** The pids whose command line is `sleep <marker>`: a test's task processes, found whatever the runtime. */
export function sleepers(marker: string): number[] {
  return processesByArgv((argv) => argv.length === 2 && argv[0] === 'sleep' && argv[1] === marker);
}

/** Output and input keepers holding a file of task `id`'s directory under `root` open. */
export function keepersOf(root: string, id: string): number[] {
  const dir = path.join(root, 'tasks', id) + '/';
  return processesByArgv((argv) => /^taskio-(output|input)-keeper/.test(argv[0] ?? '')).filter((p) => {
    try {
      return fs.readdirSync(`/proc/${p}/fd`).some((fd) => { try { return fs.readlinkSync(`/proc/${p}/fd/${fd}`).startsWith(dir); } catch { return false; } });
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** The cgroups (job or container) of task `id` of `root` that exist. */
export function cgroupsOf(root: string, id: string): string[] {
  const name = `${jobPrefix(root)}${id}`;
  return hierarchyMounts().flatMap((m) => [path.join(m, 'taskio-containers', name), path.join(m, 'taskio', name)]).filter((p) => fs.existsSync(p));
}

/** What of task `id` of `root` is left on the host: its directory, runtime state, cgroups and keepers (its processes apart). */
export function taskLeftovers(root: string, id: string, runtime: string): string[] {
  const left = [path.join(root, 'tasks', id)];
  if (runtime !== 'host') left.push(path.join(root, 'runtime', runtime, runtimeIdOf(root, runtime, id)));
  return [...left.filter((p) => fs.existsSync(p)), ...cgroupsOf(root, id), ...keepersOf(root, id).map((p) => `keeper ${p}`)];
}

/** The fds of process `pid` (a daemon), for leak checks. */
export function fdsOf(pid: number): string[] {
  return fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return '?';
    }
  });
}

/**
 * Checks, in `t`, what a daemon SIGKILL cost a log of numbered lines 1, 2, …: at most the lines
 * the killed daemon had read and not yet logged. On a FIFO that is the read its log copy held; on a
 * terminal (pty → console copy → stdout FIFO → log copy → file) a read of each copy, so the missing
 * lines may be two runs, with lines between them that the next daemon read from the FIFO. The rule:
 * nothing repeated or out of order, nothing missing up to `killedAfter` (a line the log held before
 * the kill), and at most `maxBytes` missing after it (line `n` being `lineBytes(n)` long). Returns
 * the missing lines.
 */
export function checkKillGap(t: Test, what: string, nums: readonly number[], killedAfter: number, lineBytes: (n: number) => number, maxBytes: number): number[] {
  const disordered = nums.filter((n, i) => i > 0 && n <= nums[i - 1]!);
  const logged = new Set(nums);
  const last = nums.reduce((max, n) => Math.max(max, n), 0);
  const missing = Array.from({ length: last }, (_, i) => i + 1).filter((n) => !logged.has(n));
  const bytes = missing.reduce((sum, n) => sum + lineBytes(n), 0);
  t.same(disordered, [], `${what}: nothing repeated or out of order`);
  t.same(missing.filter((n) => n <= killedAfter), [], `${what}: nothing missing up to line ${killedAfter}, logged before the kill`);
  const lines = missing.length === 0 ? 'none' : `${missing.length} lines from ${missing[0]} to ${missing.at(-1)}`;
  t.ok(bytes <= maxBytes, `${what}: at most ${maxBytes} bytes missing after the kill (${bytes}: ${lines})`);
  return missing;
}

/** Waits until `cond()` holds (polling every 10 ms), failing after `ms`. */
export async function eventually(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The task's log so far: its stdout, as text. */
export async function logText(c: DaemonClient, id: string): Promise<string> {
  let text = '';
  await c.logs(id, { stdout: new Writable({ write(ch, _e, cb) { text += ch; cb(); } }) });
  return text;
}

/**
 * The lines of `text` that a newline ended, without it. The log of a task that writes on may end in
 * the middle of a line (`line 12` of `line 123`): that last piece is left out, so it is never read
 * as a line of its own.
 */
export function endedLines(text: string): string[] {
  return text.split('\n').slice(0, -1);
}

/**
 * What `stty size` printed in an exec of task `id` with a terminal (started with `consoleSize` if
 * given), after its exit code: `0 24 80` for an exec that started at 80x24.
 */
export async function execSttySize(c: DaemonClient, id: string, consoleSize?: { height: number; width: number }): Promise<string> {
  const out = new Collector();
  const e = await c.exec(id, { args: ['stty', 'size'], terminal: true, ...(consoleSize ? { consoleSize } : {}), stdout: out });
  const exit = await e.wait();
  return `${exit.exitCode} ${out.text().trim()}`;
}

/** Runs a task made from `req` to its end and removes it: its exit code and its output (stdout and stderr together). */
export async function runToEnd(c: DaemonClient, req: Parameters<DaemonClient['createTask']>[0]): Promise<{ code: number | null; out: string }> {
  const task = await c.createTask(req);
  const exit = await c.wait(task.id);
  const chunks: Buffer[] = [];
  const sink = new Writable({ write(ch: Buffer, _e, cb) { chunks.push(Buffer.from(ch)); cb(); } });
  await c.logs(task.id, { stdout: sink, stderr: sink });
  await c.remove(task.id);
  return { code: exit.exitCode, out: Buffer.concat(chunks).toString() };
}

/** Bad `consoleSize` values (a task create's, an exec's) and the message each is refused with. */
export const badConsoleSizes: ReadonlyArray<readonly [unknown, RegExp]> = [
  [{ height: 0, width: 80 }, /"consoleSize.height" must be 1 to 65535, got 0/],
  [{ height: 24, width: 65536 }, /"consoleSize.width" must be 1 to 65535, got 65536/],
  [{ height: 24 }, /missing field "width" in the consoleSize/],
  [{ height: 24, width: 80, depth: 1 }, /unknown field "depth" in the consoleSize/],
  [[24, 80], /field "consoleSize" must be/],
];
