import { libc } from './libc.js';

const M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;

/** The highest thresholds glibc's own adaptive tuning reaches (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit). */
const mmapThreshold = 32 << 20, trimThreshold = 2 * mmapThreshold;

let tuned = false;
/** Whether {@link keepFreedMemory} set the thresholds (so this module may move them). */
let ours = false;

/**
 * Lets glibc's malloc keep memory it got back instead of returning it to the kernel at once: heap
 * memory freed at the top stays up to 64 MiB (default 128 KiB) and blocks up to 32 MiB come from
 * the heap (default 128 KiB). That is the state glibc's own adaptive thresholds reach once the
 * process freed a single 32 MiB block, set outright. It matters where memory is allocated and
 * freed at a high rate through the GC — copies for sinks that may keep them: with the defaults
 * each GC's batch of frees was trimmed away and the next allocations page-faulted it back, which
 * was most of their cost. Runs once per process; a process that tunes malloc itself
 * (`GLIBC_TUNABLES` with `glibc.malloc.*`, `MALLOC_*_` variables) is left as it is, and where libc
 * cannot be reached nothing happens. Returns whether the thresholds were set.
 */
export function keepFreedMemory(): boolean {
  if (tuned) return false;
  tuned = true;
  const env = process.env;
  if (/glibc\.malloc\./.test(env.GLIBC_TUNABLES ?? '') || Object.keys(env).some((k) => /^MALLOC_\w+_$/.test(k))) return false;
  try {
    ours = libc.mallopt(M_MMAP_THRESHOLD, mmapThreshold) === 1 && libc.mallopt(M_TRIM_THRESHOLD, trimThreshold) === 1;
    return ours;
  } catch {
    return false; // not Linux/glibc, or koffi missing: the defaults stay, nothing breaks
  }
}

/**
 * Whether blocks up to 32 MiB come from malloc's heap, reused after a free, rather than from a
 * fresh mapping that faults on every first write: true once {@link keepFreedMemory} set the
 * thresholds.
 */
export function largeBlocksFromHeap(): boolean {
  return ours;
}

/** The trim threshold while copies flow: above the most a GC frees at once behind a batching sink. */
const flowTrimThreshold = 256 << 20;
/** How long after the last copied read the hold ends. */
const flowIdleMs = 10_000;
let lastFlow = 0;
let holding = false;
let idleWaiters: (() => void)[] = [];

/**
 * Called for each read copied for a sink that may keep it (after {@link keepFreedMemory}). While
 * such copies flow, glibc keeps up to 256 MiB freed at the top of its heap instead of 64 MiB: a
 * sink that keeps chunks in batches (an uploader holding 64 MiB, then dropping them) lets one GC
 * free more than 64 MiB at once, glibc gave it back to the kernel, and the next copies
 * page-faulted it in again (35,000–45,000 faults per GiB, measured). Ten seconds after the last
 * copied read (a burst's heap is kept across short pauses) the 64 MiB threshold is back and
 * `malloc_trim` returns what is free, so a process whose copies went quiet does not keep its peak.
 * Costs a clock read per call and, while copies flow, one timer every ten seconds. Does nothing
 * where {@link keepFreedMemory} did not set the thresholds (so libc is bound when it acts).
 */
export function copiesFlowing(): void {
  lastFlow = Date.now();
  if (holding || !ours) return;
  if (libc.mallopt(M_TRIM_THRESHOLD, flowTrimThreshold) !== 1) return;
  holding = true;
  armIdleCheck(flowIdleMs);
}

function armIdleCheck(ms: number): void {
  setTimeout(() => {
    const idle = Date.now() - lastFlow;
    if (idle < flowIdleMs) {
      armIdleCheck(flowIdleMs - idle);
      return;
    }
    holding = false;
    libc.mallopt(M_TRIM_THRESHOLD, trimThreshold);
    libc.malloc_trim(0);
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  }, ms).unref();
}

/** The trim threshold taskio set, or null where it set none (see {@link keepFreedMemory}). */
export function trimThresholdSet(): number | null {
  if (!ours) return null;
  return holding ? flowTrimThreshold : trimThreshold;
}

/** Resolves once no hold of {@link copiesFlowing} is in force (at once when none is). */
export function copiesIdle(): Promise<void> {
  return holding ? new Promise((resolve) => idleWaiters.push(resolve)) : Promise.resolve();
}
