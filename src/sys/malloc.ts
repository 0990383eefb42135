import { libc } from './libc.js';

const M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3;

/** The highest thresholds glibc's own adaptive tuning reaches (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit). */
const mmapThreshold = 32 << 20, trimThreshold = 2 * mmapThreshold;

let tuned = false;

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
    return libc.mallopt(M_MMAP_THRESHOLD, mmapThreshold) === 1 && libc.mallopt(M_TRIM_THRESHOLD, trimThreshold) === 1;
  } catch {
    return false; // not Linux/glibc, or koffi missing: the defaults stay, nothing breaks
  }
}
