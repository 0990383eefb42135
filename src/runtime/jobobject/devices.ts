import fs from 'node:fs/promises';
import path from 'node:path';
import { TaskioError } from '../../errors.js';

/** A block device as cgroup files name it: `major:minor`. */
export type DeviceNumber = `${number}:${number}`;

// glibc's dev_t encoding (the one libuv hands to Node's stat).
function split(dev: bigint): DeviceNumber {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return `${Number(major)}:${Number(minor)}`;
}

/**
 * The whole disk under a device: blk-throttle (v1) and `io.max` (v2) take rules only for whole disks,
 * and a partition's I/O is throttled on its disk, so a partition maps to its parent.
 */
async function wholeDisk(dev: DeviceNumber): Promise<DeviceNumber | undefined> {
  const sys = `/sys/dev/block/${dev}`;
  try {
    const real = await fs.realpath(sys);
    try {
      await fs.access(path.join(real, 'partition'));
      return (await fs.readFile(path.join(path.dirname(real), 'dev'), 'utf8')).trim() as DeviceNumber;
    } catch {
      return dev;
    }
  } catch {
    return undefined; // not a block device the kernel knows (tmpfs, overlay, proc have major 0)
  }
}

/**
 * Resolves paths to the block devices that hold them: a device node stands for itself, any other file
 * or directory for the disk its filesystem lives on. A path on no block device (tmpfs, overlay …) is an
 * `ERR_INVALID_ARG_VALUE` naming it, since no I/O limit could ever apply to it.
 */
export async function devicesOf(paths: readonly string[]): Promise<DeviceNumber[]> {
  const out = new Set<DeviceNumber>();
  for (const p of paths) {
    const st = await fs.stat(p, { bigint: true });
    const dev = await wholeDisk(split(st.isBlockDevice() ? st.rdev : st.dev));
    if (dev === undefined || dev.startsWith('0:')) {
      throw new TaskioError('ERR_INVALID_ARG_VALUE', `no block device holds '${p}': an I/O limit cannot apply to it`);
    }
    out.add(dev);
  }
  return [...out];
}

/**
 * The default I/O-limit devices: the disks of every block-device filesystem mounted now, i.e. the
 * disks that can hold a task's files. It plays the part of Windows' "all volumes" (a null `VolumeName`).
 */
export async function mountedDisks(): Promise<DeviceNumber[]> {
  const sources = new Set<string>();
  for (const line of (await fs.readFile('/proc/mounts', 'utf8')).split('\n')) {
    const src = line.split(' ')[0];
    if (src?.startsWith('/dev/')) sources.add(src);
  }
  const out = new Set<DeviceNumber>();
  for (const src of sources) {
    try {
      const st = await fs.stat(src, { bigint: true });
      if (!st.isBlockDevice()) continue;
      const dev = await wholeDisk(split(st.rdev));
      if (dev !== undefined) out.add(dev);
    } catch {
      // a source that vanished or is not visible here is not a disk we can limit
    }
  }
  return [...out];
}
