/**
 * Daemon benchmarks: a task's lifecycle through the API beside the runtime's own CLI sequence,
 * tasks started per second, log-mode throughput into the daemon's CRI log beside conmon's
 * `k8s-file`, and what an idle task costs the daemon (RSS, fds). The daemon is a real process
 * (`taskio daemon`) on a private root under /run; its CPU is read from `/proc/<pid>/stat`.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DaemonClient } from '../daemon/index.js';
import type { RuntimeName } from '../daemon/records.js';
import { logEntrySpan, processCpuSeconds } from './logfile.js';
import { ciobench, type Interleave, type Result, type Variant } from './measure.js';

/** A daemon started for a benchmark, and what stops it and removes its root. */
export interface BenchDaemon {
  root: string;
  pid: number;
  client: DaemonClient;
  stop(): Promise<void>;
}

/** Starts `taskio daemon --root /run/taskio-bench-d-<random>` and waits for it to answer. */
export async function startBenchDaemon(): Promise<BenchDaemon> {
  const root = `/run/taskio-bench-d-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(root, { mode: 0o700 });
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [main, 'daemon', '--root', root], { stdio: ['ignore', 'ignore', 'ignore'] });
  const client = new DaemonClient(root, { start: false });
  for (let i = 0; ; i++) {
    try {
      await client.version({ signal: AbortSignal.timeout(2000) });
      break;
    } catch (err) {
      if (i > 3000 || child.exitCode !== null) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return {
    root, pid: child.pid!, client,
    async stop() {
      for (const t of await client.listTasks({ all: true })) await client.remove(t.id, { force: true }).catch(() => undefined);
      client.close();
      // The child is the daemon's exit recorder: SIGKILLed, it left the daemon (its child, in a
      // session of its own) running for good. SIGTERM reaches the daemon through it, and it exits
      // once the daemon is gone.
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(producerRootfsOf(root), { recursive: true, force: true });
    },
  };
}

/** `POST /tasks` → wait → `DELETE` of `/bin/true`, `n` times; ms each. */
export async function daemonLifecycle(d: BenchDaemon, runtime: RuntimeName, n: number, log?: 'none'): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = `life-${i}-${crypto.randomBytes(3).toString('hex')}`;
    const t0 = performance.now();
    await d.client.createTask({ id, runtime, args: ['/bin/true'], ...(log ? { log } : {}) });
    const exit = await d.client.wait(id);
    await d.client.remove(id);
    times.push(performance.now() - t0);
    if (exit.exitCode !== 0) throw new Error(`/bin/true exited ${exit.exitCode}`);
  }
  return times;
}

/** `n` detached tasks (`sleep`) started, 8 requests in flight: tasks/s; then removed. */
export async function daemonStartRate(d: BenchDaemon, runtime: RuntimeName, n: number): Promise<Result> {
  const ids = Array.from({ length: n }, (_, i) => `many-${i}-${crypto.randomBytes(3).toString('hex')}`);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < ids.length) await d.client.createTask({ id: ids[next++]!, runtime, args: ['sleep', '100000'] });
  }));
  const wall = (performance.now() - t0) / 1000;
  for (const id of ids) await d.client.remove(id, { force: true });
  return { bench: 'daemon-start-rate', runtime, tasks: n, wall_s: +wall.toFixed(3), tasks_s: Math.round(n / wall) };
}

/** Beside the daemon's root, not in it: the daemon refuses a rootfs inside its root. */
const producerRootfsOf = (root: string): string => `${root}-producer-rootfs`;

/** A rootfs holding only `ciobench` (the producer conmon's benchmark runs too). */
function producerRootfs(d: BenchDaemon): string {
  const rootfs = producerRootfsOf(d.root);
  if (!fs.existsSync(path.join(rootfs, 'ciobench'))) {
    fs.mkdirSync(rootfs, { recursive: true });
    fs.copyFileSync(ciobench!, path.join(rootfs, 'ciobench'));
    fs.chmodSync(path.join(rootfs, 'ciobench'), 0o755);
  }
  return rootfs;
}

/**
 * Log mode: `ciobench produce` in a runc container writes `args` to its stdout; the daemon reads the
 * FIFO and writes its CRI log. Timed from `POST /tasks` until the wait answers (the log is complete
 * then), with the daemon's CPU seconds over the same span, and by the log's own timestamps
 * ({@link logEntrySpan}: first to last line, as conmon's is measured).
 */
export async function daemonLogMode(d: BenchDaemon, label: string, args: string[]): Promise<Result> {
  const id = `log-${crypto.randomBytes(3).toString('hex')}`;
  const rootfs = producerRootfs(d);
  const cpu0 = processCpuSeconds(d.pid);
  const t0 = performance.now();
  const task = await d.client.createTask({ id, runtime: 'runc', rootfs, args: ['/ciobench', 'produce', '--stdout', '/proc/self/fd/1', ...args] });
  const exit = await d.client.wait(id);
  const wall = (performance.now() - t0) / 1000;
  const cpu = processCpuSeconds(d.pid) - cpu0;
  if (exit.exitCode !== 0) throw new Error(`the producer exited ${exit.exitCode}`);
  const size = fs.statSync(task.logPath!).size;
  const span = logEntrySpan(task.logPath!);
  await d.client.remove(id);
  return { bench: 'daemon-log-mode', label, wall_s: +wall.toFixed(3), log_span_s: +span.toFixed(6), daemon_cpu_s: +cpu.toFixed(2), log_bytes: size };
}

/** The daemon's resident memory (KiB) and open fds. */
export function daemonFootprint(pid: number): { rss_kib: number; fds: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rss_kib: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}

/**
 * What idle host tasks (`sleep`, log mode) cost the daemon: RSS and fds with 1, then each count in
 * `counts`, and per task beyond the first.
 */
export async function daemonTaskCost(d: BenchDaemon, counts: number[]): Promise<Result[]> {
  const out: Result[] = [];
  let made = 0;
  const grow = async (n: number): Promise<void> => {
    let next = made;
    made = n;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < n) await d.client.createTask({ id: `idle-${next++}`, runtime: 'host', args: ['sleep', '100000'] });
    }));
    // Settle: let the daemon finish what the creates started before measuring.
    await new Promise((r) => setTimeout(r, 1000));
  };
  await grow(1);
  const base = daemonFootprint(d.pid);
  out.push({ bench: 'daemon-task-cost', tasks: 1, ...base });
  for (const n of counts) {
    await grow(n);
    const f = daemonFootprint(d.pid);
    out.push({
      bench: 'daemon-task-cost', tasks: n, ...f,
      rss_kib_per_task: +((f.rss_kib - base.rss_kib) / (n - 1)).toFixed(1),
      fds_per_task: +((f.fds - base.fds) / (n - 1)).toFixed(2),
    });
  }
  return out;
}

/** Every daemon benchmark, printed through `interleave` (rounds, medians, ratios) as JSON lines. */
export async function daemonBenches(o: { interleave: Interleave; lifecycles: number; lines: number; bytes: number; lifecycleShell: (dialect: 'runsc' | 'runc') => Promise<Variant | null> }): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log(JSON.stringify({ bench: 'daemon', skipped: 'needs root' }));
    return;
  }
  const d = await startBenchDaemon();
  try {
    const ms = (xs: number[]): Result => {
      const s = [...xs].sort((a, b) => a - b);
      return { runs: xs.length, median_ms: Math.round(s[s.length >> 1]! * 10) / 10 };
    };
    for (const rt of ['runsc', 'runc'] as const) {
      const shell = await o.lifecycleShell(rt);
      if (!shell) continue;
      await o.interleave(`daemon-lifecycle-${rt}`, [
        ['daemon-log-mode', async () => ({ bench: 'daemon-lifecycle', impl: 'daemon-log-mode', ...ms(await daemonLifecycle(d, rt, o.lifecycles)) })],
        ['daemon-fifo-mode', async () => ({ bench: 'daemon-lifecycle', impl: 'daemon-fifo-mode', ...ms(await daemonLifecycle(d, rt, o.lifecycles, 'none')) })],
        shell,
      ], 'median_ms', { baseline: 'shell-cli' });
    }
    for (const rt of ['host', 'runc'] as const) {
      await o.interleave(`daemon-start-rate-${rt}`, [['daemon', () => daemonStartRate(d, rt, 100)]], 'tasks_s');
    }
    if (ciobench) {
      const lines = (r: Result): Result => ({ ...r, lines_s: Math.round(o.lines / Number(r.log_span_s)), wall_lines_s: Math.round(o.lines / Number(r.wall_s)), daemon_cpu_s_per_m_lines: +((Number(r.daemon_cpu_s) / o.lines) * 1e6).toFixed(2) });
      await o.interleave('daemon-log-lines', [
        ['daemon', async () => lines(await daemonLogMode(d, `${o.lines} lines of 100 B`, ['--lines', String(o.lines), '--size', '100']))],
        ['conmon', async () => {
          const { benchConmonK8sFile } = await import('./logfile.js');
          const r = await benchConmonK8sFile({ lines: o.lines });
          return { ...(r as unknown as Result), conmon_cpu_s_per_m_lines: r.cpu_s !== undefined ? +((r.cpu_s / o.lines) * 1e6).toFixed(2) : null };
        }],
      ], 'lines_s', { baseline: 'conmon', alsoKeys: ['wall_lines_s'] });
      await o.interleave('daemon-log-bytes', [
        ['daemon', async () => {
          const r = await daemonLogMode(d, `${o.bytes} bytes`, ['--bytes', String(o.bytes), '--chunk', '32768']);
          return { ...r, mb_s: Math.round(o.bytes / 1e6 / Number(r.wall_s)) };
        }],
        ['conmon', async () => {
          const { benchConmonK8sFile } = await import('./logfile.js');
          return { ...(await benchConmonK8sFile({ bytes: o.bytes })) } as unknown as Result;
        }],
      ], 'mb_s', { baseline: 'conmon' });
    }
  } finally {
    await d.stop();
  }
  // A fresh daemon for the footprint, so earlier benchmarks' garbage does not count.
  const idle = await startBenchDaemon();
  try {
    for (const r of await daemonTaskCost(idle, [100, 1000])) console.log(JSON.stringify(r));
  } finally {
    await idle.stop();
  }
}
