import type { keepFreedMemory } from '../sys/index.js';

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
 * The largest slab a kept chunk is cut from, by default. Memory a sink may keep cannot be reused by
 * taskio, so every byte copied to such a sink is a fresh allocation, freed by the GC later; what
 * makes that cheap or dear is whether `malloc` hands back memory it already has. glibc serves
 * requests under its mmap threshold (128 KiB by default) from its heap and reuses what was freed
 * there, while a 1 MiB slab is mapped fresh, or taken from a heap that the last batch of frees had
 * trimmed — and then every page of it faults on first write (page faults were most of the keepers'
 * cost here). 64 KiB slabs stay under that threshold. Measured (1 GiB, 32 KiB writes, bench
 * process): 1 MiB slabs 1.0–2.2 CPU-s/GiB, 64 KiB copies with the kept heap 0.85–1.3 on a loaded
 * machine, 0.55–0.8 in a small process.
 */
export const keptSlabSize = 64 << 10;

/**
 * The largest slab where {@link keepFreedMemory} raised glibc's thresholds (blocks up to 32 MiB then
 * come from the heap, and a GC's frees stay there): the largest read, so a busy stream's read
 * reaches the sink as one chunk instead of sixteen. Each chunk costs a sink that forwards it (a
 * `PassThrough`, a `pipeline`) a pass through its stream machinery and, behind a high-water mark
 * below the chunk, a pause and a resume. Measured (1 GiB, 32 KiB writes, one process, 5 rounds,
 * 5 December 2026): `pipeline` 2,364 → 2,627 MB/s, `PassThrough` 2,559 → 2,662, a `Writable`
 * 2,604 → 2,758, at the same CPU per GiB or less.
 */
export const heapSlabSize = sizeClasses[3];

/** Below this, `Buffer.allocUnsafe` cuts from Node's shared pool instead of allocating. */
const smallCopy = Buffer.poolSize >>> 1;

/**
 * Chunks for a sink that may keep them: a read goes into a reused read buffer (hot in the cache,
 * its pages already mapped), then its bytes are copied into consecutive pieces of a slab of at most
 * the copier's largest ({@link keptSlabSize} or {@link heapSlabSize}), and no byte of a slab is
 * ever written again once a piece of it was handed out. So nothing a sink keeps ever changes under it; the GC frees a slab once the sink dropped
 * its last piece of it. A read larger than what is left of the slab continues in a fresh one (two
 * chunks); a tail too short to be worth a chunk (under a sixteenth of a slab) is left unused, and a
 * few bytes that do not fit come from Node's `Buffer` pool.
 * What one kept chunk can pin beyond its own bytes is bounded by one slab, as with Node's own
 * `Buffer` pool; a slab is no larger than the stream's reads.
 */
export class SlabCopier {
  #slab: Buffer | null = null;
  #offset = 0;
  readonly #maxSlab: number;

  /** `maxSlab`: the largest slab to cut ({@link keptSlabSize}, or {@link heapSlabSize} where malloc keeps large blocks). */
  constructor(maxSlab: number = keptSlabSize) {
    this.#maxSlab = maxSlab;
  }

  /**
   * Copies the bytes of `src` from `start` up to at most `end` into slab memory that is the
   * caller's for good and returns them as one chunk; it may be shorter than asked (the slab ended):
   * call again from `start + chunk.length`. `slabSize` (at most the copier's largest) is the size
   * of a fresh slab, so a stream with small reads holds a small one.
   */
  copy(src: Buffer, start: number, end: number, slabSize: number): Buffer {
    let rest = this.#slab === null ? 0 : this.#slab.length - this.#offset;
    const want = end - start;
    if (rest < want && want < smallCopy) {
      // Node's own pool is the cheaper slab for a few bytes (a line, a prompt): no slab of ours
      // is made for a stream that only ever says that much.
      const chunk = Buffer.allocUnsafe(want);
      src.copy(chunk, 0, start, end);
      return chunk;
    }
    const size = Math.min(slabSize, this.#maxSlab);
    if (rest < want && rest < size / 16) {
      this.#slab = Buffer.allocUnsafeSlow(size);
      this.#offset = 0;
      rest = this.#slab.length;
    }
    const n = Math.min(rest, want);
    const from = this.#offset;
    src.copy(this.#slab!, from, start, start + n);
    this.#offset += n;
    return this.#slab!.subarray(from, from + n);
  }
}
