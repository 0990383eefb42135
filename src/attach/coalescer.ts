/** Less than this within a millisecond is a prompt, a line or a reply: it never delays the next read. */
export const bulkBurst = 16 << 10;
/** How long a busy stream's next read waits (Node's shortest timer). */
export const coalesceMs = 1;
/**
 * How long pauses stay off once they would have blocked the task on a full pipe. The two tries that
 * find it so may each block the task for up to a millisecond, so they come at most once a second.
 */
export const backoffMs = 1000;
/** Pauses in a row that found the pipe half full or more before they stop for {@link backoffMs}. */
export const fullPausesToBackOff = 2;

/**
 * When the copy engine reads a busy stream's next burst. Each read of a FIFO is a wakeup of the
 * copying process, and a task that writes 4 KiB at a time at 100 MB/s wakes its reader 25,000
 * times a second: at such rates the wakeups, not the copying, are most of what a copy costs
 * (containerd's `cio` spends 1.9-2.5 CPU-s per GiB there, against 0.7-1.0 when the task writes flat
 * out and each wakeup finds more in the pipe). Waiting a millisecond once a stream proved busy lets
 * the pipe (1 MiB, as taskio sets it) gather the next burst, and the reader wakes about once per
 * millisecond.
 *
 * Rules, applied where a read emptied the pipe (it did not fill the buffer it was offered; a read
 * that did is followed by another at once, since more is waiting). The window is the millisecond
 * that began at the first such point after the previous window ran out; a pause outlasts a window.
 * - the stream brought under {@link bulkBurst} in the window → read on at once: what a task says
 *   now and then (a prompt, a line, the reply to a request) is passed on as soon as it came, and so
 *   is the data after it;
 * - a back-off is running → read on at once;
 * - what came during a pause is half the pipe or more, as it was during the pause before
 *   ({@link fullPausesToBackOff} in a row) → the task writes faster than a pause can hold (a late
 *   timer would block it on a full pipe, and slow it), so read on at once and make no pauses for
 *   {@link backoffMs}. One such pause alone is not enough: a timer that fired late, or a copy that
 *   started behind, brings one too;
 * - otherwise → wait {@link coalesceMs} before the next read.
 * The added delay is bounded by one timer and comes only while a stream brings bulk output. A pipe
 * whose size is unknown (0) is never paused.
 */
export class Coalescer {
  readonly #pipeBytesOf: () => number;
  #pipeBytes: number | null = null;
  readonly #now: () => number;
  #burst = 0;
  #windowStart = -Infinity;
  #windowBytes = 0;
  #afterPause = false;
  #fullPauses = 0;
  #backoffUntil = -Infinity;

  /**
   * @param pipeBytes the pipe's capacity (`F_GETPIPE_SZ`), 0 when it is not known. Asked once, when
   *   a stream first brings bulk output: most streams never do, and each ask is a system call.
   * @param now the clock in milliseconds (`performance.now`; tests pass their own).
   */
  constructor(pipeBytes: () => number, now: () => number) {
    this.#pipeBytesOf = pipeBytes;
    this.#now = now;
  }

  /** Called after every read of `n` bytes into `offered`; returns the ms to wait before the next read (0: none). */
  afterRead(n: number, offered: number): number {
    this.#burst += n;
    if (n === offered) return 0;
    const burst = this.#burst, afterPause = this.#afterPause;
    this.#burst = 0;
    this.#afterPause = false;
    const now = this.#now();
    if (now - this.#windowStart >= coalesceMs) {
      this.#windowStart = now;
      this.#windowBytes = 0;
    }
    this.#windowBytes += burst;
    if (this.#windowBytes < bulkBurst) return 0;
    this.#pipeBytes ??= this.#pipeBytesOf();
    if (this.#pipeBytes === 0 || now < this.#backoffUntil) return 0;
    this.#fullPauses = afterPause && burst >= this.#pipeBytes / 2 ? this.#fullPauses + 1 : 0;
    if (this.#fullPauses >= fullPausesToBackOff) {
      this.#fullPauses = 0;
      this.#backoffUntil = now + backoffMs;
      return 0;
    }
    this.#afterPause = true;
    return coalesceMs;
  }
}
