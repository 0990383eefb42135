/**
 * Read buffers shared by every copy in the process, in four size classes. A copy starts with a
 * small buffer (an idle task costs 16 KiB a stream, as containerd's 32 KiB copy buffers do) and
 * moves up a class each time a read fills its buffer, so a busy stream reads up to 1 MiB — the
 * pipe size taskio sets — per syscall.
 */
export const sizeClasses = [16 << 10, 64 << 10, 256 << 10, 1 << 20] as const;

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
