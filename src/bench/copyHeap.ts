import v8 from 'node:v8';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { taskioStream, type SinkKind } from './cio.js';
import { run, type Result } from './measure.js';

/**
 * The copy path where the host's heap sits (`npm run bench -- copy-heap`). What a sink that may
 * keep chunks costs beyond the copy is V8's mark-compacts, and how many run depends on the live
 * heap of the process that copies (README, "Copied sinks and V8's garbage collector"), not on
 * taskio: the same code ran 1–5 or 17–30 per GiB in two processes 0.3 MB apart. So each point runs
 * in a fresh Node process that imports taskio as a program would, holds `liveMb` MB of small
 * objects of its own (a supervisor's state: a record per task), copies unmeasured first
 * ({@link warmCopies}) and then one measured GiB from the same producer as the other copy lines;
 * its line says the live heap it had after the copy and the page faults the copy took.
 * `nodeFlags` go on that process's command line (a V8 flag a user would start Node with); its line
 * is then named `impl`.
 */
export function copyAtHeap(liveMb: number, sink: SinkKind, load: string[], nodeFlags: string[] = [], impl?: string): Promise<Result> {
  const main = fileURLToPath(new URL('./copyHeapMain.js', import.meta.url));
  // --expose-gc only to read the live heap once the copy is over (a full GC before reading it).
  return run(process.execPath, ['--expose-gc', ...nodeFlags, main, String(liveMb), sink, ...load])
    .then((out) => ({ ...(JSON.parse(out.trim()) as Result), ...(impl === undefined ? {} : { impl }) }));
}

/** The bytes one held record takes on V8's heap, about (an object of three fields, its string key and its Map entry: measured). */
const recordBytes = 128;

/**
 * Copies run unmeasured first: the JIT, and the growth of V8's young generation and of malloc's
 * heap (the array collector's 64 MiB are freed by mark-compacts and reused from then on) all
 * happen in a process's first GiBs; one was not enough (the array collector ran at half the speed
 * it reached in a process that had copied for a while).
 */
const warmCopies = Number(process.env.COPY_HEAP_WARMUP ?? 2);

/** The child's side of {@link copyAtHeap}: what `copyHeapMain.js` runs with its arguments. */
export async function copyAtHeapHere(liveMb: number, sink: SinkKind, load: string[]): Promise<Result> {
  const held = new Map<string, { pid: number; status: string; exitCode: number | null }>();
  for (let i = 0; i < (liveMb * 2 ** 20) / recordBytes; i++) held.set(`task-${i}`, { pid: i, status: 'running', exitCode: null });
  for (let i = 0; i < warmCopies; i++) await taskioStream('throughput', load, sink);
  const faults = process.resourceUsage().minorPageFault;
  // What the collections cost the program's other work: how late its event loop ran.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const r = await taskioStream('throughput', load, sink);
  delay.disable();
  const minorFaults = process.resourceUsage().minorPageFault - faults;
  (globalThis as { gc?: () => void }).gc?.();
  const live = v8.getHeapStatistics().used_heap_size;
  return { ...r, impl: `taskio-${sink}+${liveMb}MB`, held_mb: liveMb, held_records: held.size, minor_faults: minorFaults, live_heap_mb: Math.round(live / 1e5) / 10, loop_delay_p99_ms: Math.round(delay.percentile(99) / 1e4) / 100, loop_delay_max_ms: Math.round(delay.max / 1e4) / 100 };
}
