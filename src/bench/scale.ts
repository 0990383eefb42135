/**
 * Scale: N host-backend tasks alive at once in this process (the library, no daemon), each with
 * its FIFO set attached by a client in the same process (stdin, stdout and stderr) and printing a
 * line a second. Per N: RSS and fds per task (over the process before the tasks, after a GC),
 * event-loop delay p50/p99 (`perf_hooks.monitorEventLoopDelay`) and `fs.stat` latency while the
 * tasks run, and whether every line arrived. One JSON line per N.
 *
 * The task is `busybox sh` looping on builtins only (`echo`, then `read -t 1` on its stdin, which
 * the client holds open and never writes): no fork a second per task, so what is measured is
 * taskio, not a thousand `sleep` processes starting.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PassThrough, Writable } from 'node:stream';
import { newCreator, withFIFODir, withStreams, type IO } from '../index.js';
import { HostRuntime, Init } from '../runtime.js';
import { run, type Result } from './measure.js';

/** Counts the lines a task printed. */
class LineCounter extends Writable {
  lines = 0;
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) this.lines++;
    cb();
  }
}

interface Task {
  io: IO;
  init: Init;
  out: LineCounter;
  stdin: PassThrough;
}

const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p)) ?? null;

let gc: (() => void) | null = null;

/** RSS (bytes) and open fds of this process after a full GC. */
function footprint(): { rss: number; fds: number } {
  if (gc === null) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  return { rss: process.memoryUsage().rss, fds: fs.readdirSync('/proc/self/fd').length };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

/**
 * The event-loop monitor's timer period. Its histogram records the time between two of its
 * timer callbacks, so the delay is that time minus the period.
 */
const loopResolutionMs = 10;
const loopDelay = (ns: number): number => round(Math.max(0, ns / 1e6 - loopResolutionMs));

/**
 * The same event-loop measure in an idle Node process over the same window: what the machine's
 * load alone costs a loop (this 2-core machine is shared), to read the tasks' figure against.
 */
async function idleLoopDelay(seconds: number): Promise<{ p50: number; p99: number }> {
  const script = `const h = require('node:perf_hooks').monitorEventLoopDelay({ resolution: ${loopResolutionMs} }); h.enable();
setTimeout(() => { h.disable(); console.log(JSON.stringify([h.percentile(50), h.percentile(99)])); }, ${seconds * 1000});`;
  const [p50, p99] = JSON.parse(await run(process.execPath, ['-e', script])) as [number, number];
  return { p50: loopDelay(p50), p99: loopDelay(p99) };
}

/** Runs `fn` over `items` with at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/**
 * One point of the curve: `count` tasks started, `seconds` of steady state measured, everything
 * stopped and deleted. `base` is a scratch directory of this run.
 */
export async function scalePoint(count: number, seconds: number, base: string): Promise<Result> {
  if (!busybox) return { bench: 'scale', tasks: count, skipped: 'busybox is not installed' };
  const bundle = path.join(base, 'bundle');
  fs.mkdirSync(bundle, { recursive: true });
  const script = 'i=0; while :; do i=$((i+1)); echo "line $i"; read -t 1 x; done';
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { terminal: false, args: [busybox, 'sh', '-c', script], env: ['PATH=/bin:/usr/bin'], cwd: '/' } }));
  const fifoDir = path.join(base, 'fifo');
  const runtime = new HostRuntime();
  const prefix = `scale-${process.pid}-${count}`;

  const before = footprint();
  const tasks: Task[] = [];
  const t0 = process.hrtime.bigint();
  await pool(Array.from({ length: count }, (_, i) => i), 16, async (i) => {
    const id = `${prefix}-${i}`;
    const out = new LineCounter(), stdin = new PassThrough();
    const io = await newCreator(withStreams(stdin, out, new LineCounter()), withFIFODir(fifoDir))(id);
    const c = io.config();
    const init = new Init(id, runtime, c, { drainTimeout: 1000 });
    tasks.push({ io, init, out, stdin });
    await init.create({ id, bundle, terminal: false, stdin: c.stdin, stdout: c.stdout, stderr: c.stderr });
    await init.start();
  });
  const startS = Number(process.hrtime.bigint() - t0) / 1e9;

  // Let every task print its first lines, then measure a steady window.
  await new Promise((r) => setTimeout(r, 2000));
  const linesAt = tasks.reduce((s, t) => s + t.out.lines, 0);
  const control = idleLoopDelay(seconds);
  const loop = monitorEventLoopDelay({ resolution: loopResolutionMs });
  loop.enable();
  const stats: number[] = [];
  const statTarget = path.join(base, 'bundle', 'config.json');
  const w0 = process.hrtime.bigint();
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const s0 = process.hrtime.bigint();
    await fs.promises.stat(statTarget);
    stats.push(Number(process.hrtime.bigint() - s0) / 1e6);
    await new Promise((r) => setTimeout(r, 20));
  }
  loop.disable();
  const idle = await control;
  const windowS = Number(process.hrtime.bigint() - w0) / 1e9;
  const lines = tasks.reduce((s, t) => s + t.out.lines, 0) - linesAt;
  const during = footprint();
  stats.sort((a, b) => a - b);

  // Stop everything; what is left over is a leak.
  await pool(tasks, 32, async ({ init }) => {
    await init.kill('KILL').catch(() => undefined);
    await init.wait();
    await init.delete();
  });
  await pool(tasks, 64, async ({ io, stdin }) => {
    stdin.end();
    await io.close();
  });
  tasks.length = 0;
  const after = footprint();

  return {
    bench: 'scale',
    tasks: count,
    start_s: round(startS),
    starts_s: Math.round(count / startS),
    rss_kib_per_task: Math.round((during.rss - before.rss) / 1024 / count),
    fds_per_task: round((during.fds - before.fds) / count, 2),
    loop_p50_ms: loopDelay(loop.percentile(50)),
    loop_p99_ms: loopDelay(loop.percentile(99)),
    loop_max_ms: loopDelay(loop.max),
    idle_process_loop_p50_ms: idle.p50,
    idle_process_loop_p99_ms: idle.p99,
    stat_p50_ms: round(percentile(stats, 50)),
    stat_p99_ms: round(percentile(stats, 99)),
    stats: stats.length,
    lines_s: round(lines / windowS, 1),
    lines_s_expected: count,
    fds_left: after.fds - before.fds,
    rss_mib: round(during.rss / 2 ** 20, 1),
    window_s: round(windowS, 1),
  };
}

/** The curve: one {@link scalePoint} per count, in a scratch directory removed at the end. */
export async function scaleBenches(counts: number[], seconds: number): Promise<Result[]> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-bench-scale-'));
  const results: Result[] = [];
  try {
    // Loads and warms up what the first task uses (koffi, the reaper, JIT), so the first point's
    // per-task figures do not carry the process's own start-up.
    await scalePoint(2, 1, path.join(base, 'warm-up'));
    for (const n of counts) {
      const r = await scalePoint(n, seconds, path.join(base, String(n)));
      console.log(JSON.stringify(r));
      results.push(r);
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  return results;
}
