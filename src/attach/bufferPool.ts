/**
 * The read buffers of the copy engine, in four size classes. A copy starts small (an idle task
 * costs 16 KiB a stream, as containerd's 32 KiB copy buffers do) and moves up a class each time a
 * read fills what it was offered, so a busy stream reads up to 1 MiB — the pipe size taskio sets —
 * per syscall; a read that used under a quarter of its class moves it down.
 */
export const sizeClasses = [16 << 10, 64 << 10, 256 << 10, 1 << 20] as const;

/** The size class after a read of `n` bytes into `offered` bytes at class `cls`. */
export function nextClass(cls: number, n: number, offered: number): number {
  if (n === offered) return Math.min(cls + 1, sizeClasses.length - 1);
  if (n < sizeClasses[cls]! / 4) return Math.max(cls - 1, 0);
  return cls;
}

const keepPerClass = 8;
const free: Buffer[][] = sizeClasses.map(() => []);

/** Takes a buffer of size class `cls` (0..3) from the pool, or allocates one. */
export function acquireBuffer(cls: number): Buffer {
  return free[cls]!.pop() ?? Buffer.allocUnsafeSlow(sizeClasses[cls]!);
}

/** Returns a buffer to the pool; beyond a few per class it is left to the GC. */
export function releaseBuffer(buf: Buffer): void {
  const cls = sizeClasses.indexOf(buf.length as (typeof sizeClasses)[number]);
  if (cls >= 0 && free[cls]!.length < keepPerClass) free[cls]!.push(buf);
}

/**
 * Read buffers for a sink that may keep its chunks: reads go straight into a slab (from the pool,
 * which only ever holds memory no sink can see), each chunk is the slab's next `n` bytes, and a
 * slab is never written again once a chunk of it was handed out.
 * So nothing is copied and nothing a sink keeps ever changes under it; memory is reclaimed by the
 * GC when the sink drops its last chunk of a slab. Like Node's own `Buffer` pool, what a kept chunk
 * can pin beyond its own bytes is bounded by one slab (at most 1 MiB), and the tail of a slab too
 * short to be worth a read (under an eighth of it) is left unused.
 */
export class SlabCutter {
  #cls = 0;
  #slab = acquireBuffer(0);
  #offset = 0;

  /** The buffer the next read fills: the unused rest of the slab, or a fresh slab. */
  next(): Buffer {
    const rest = this.#slab.length - this.#offset;
    if (rest < this.#slab.length / 8) {
      this.#slab = acquireBuffer(this.#cls);
      this.#offset = 0;
    }
    return this.#slab.subarray(this.#offset);
  }

  /** The chunk a read of `n` bytes into `buf` (what {@link next} returned) made; it is the caller's for good. */
  take(n: number, buf: Buffer): Buffer {
    this.#offset += n;
    this.#cls = nextClass(this.#cls, n, buf.length);
    return buf.subarray(0, n);
  }

  /**
   * Called once no read can happen any more: a slab nothing was cut from (an idle stream's) goes
   * back to the pool; one that gave chunks away never does.
   */
  release(): void {
    if (this.#offset === 0) releaseBuffer(this.#slab);
  }
}
