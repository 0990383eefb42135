import fs from 'node:fs/promises';
import path from 'node:path';
import { parseKeyed, readOptional, type Place } from './cgroup.js';
import type { DeviceNumber } from './devices.js';

/**
 * Processor accounting of a job in Windows' `JOBOBJECT_BASIC_ACCOUNTING_INFORMATION` shape; times are
 * in 100 ns units as on Windows.
 *
 * Linux differences: the times come from the cgroup (`cpu.stat` user/system, or v1 `cpuacct`), so they
 * include every process that ever ran in the job, exited ones too, as on Windows. There is no "period"
 * on Linux, so `ThisPeriodTotal*` equal `Total*`. cgroups count no forks, so `TotalProcesses` counts the
 * processes this handle put in the job (spawn/assign) and at least `ActiveProcesses`;
 * `TotalTerminatedProcesses` counts those that `terminate()` killed through this handle.
 * `TotalPageFaultCount` is `pgfault` from `memory.stat` (0 without a memory controller).
 */
export interface JobProcessorStats {
  TotalUserTime: number;
  TotalKernelTime: number;
  ThisPeriodTotalUserTime: number;
  ThisPeriodTotalKernelTime: number;
  TotalPageFaultCount: number;
  TotalProcesses: number;
  ActiveProcesses: number;
  TotalTerminatedProcesses: number;
}

/**
 * Memory use of a job in Windows' `JOBOBJECT_MEMORY_USAGE_INFORMATION` shape, in bytes.
 *
 * Linux difference: Windows counts committed private memory; a cgroup counts the pages charged to it,
 * which includes the page cache its processes filled. `PeakJobMemoryUsed` is `memory.peak` (cgroup2,
 * kernel ≥ 5.19) or `memory.max_usage_in_bytes` (v1); where neither exists it is the current use.
 */
export interface JobMemoryStats {
  JobMemory: number;
  PeakJobMemoryUsed: number;
  /**
   * Linux only (absent on Windows): the part of `JobMemory` that is page cache not used lately
   * (`memory.stat`'s `total_inactive_file` on v1, `inactive_file` on cgroup2), which the kernel
   * reclaims first — what `docker stats` leaves out of a container's memory usage.
   */
  InactiveFile?: number;
}

/** One direction of {@link JobStorageStats}, Windows' `JOBOBJECT_IO_ATTRIBUTION_STATS`. */
export interface JobIOAttributionStats {
  /** Number of I/O operations that reached a block device. */
  IoCount: number;
  /** Not measured on Linux: always 0. */
  TotalNonOverlappedQueueTime: number;
  /** Not measured on Linux: always 0. */
  TotalNonOverlappedServiceTime: number;
  /** Bytes transferred. */
  TotalSize: number;
}

/**
 * Storage I/O of a job in Windows' `JOBOBJECT_IO_ATTRIBUTION_INFORMATION` shape (what hcsshim's
 * `QueryStorageStats` returns), summed over all block devices.
 *
 * Linux difference: only I/O that reaches a block device is counted (`io.stat`, or v1
 * `blkio.throttle.io_serviced`/`io_service_bytes`); reads served from the page cache count nothing, and on
 * cgroup v1 buffered writes are written back by kernel threads and are not charged to the job — direct I/O
 * and cache-missing reads are. On cgroup v1, recent kernels (seen on 6.18) count a disk's I/O only once
 * throttling is active on that disk (some cgroup ever had a throttle rule for it); a job created by taskio
 * activates it for its `ioDevices` (default: every mounted disk) with a "no limit" rule, so its counters
 * move from the start — on a disk that is not among them they may stay 0.
 */
export interface JobStorageStats {
  ControlFlags: number;
  ReadStats: JobIOAttributionStats;
  WriteStats: JobIOAttributionStats;
}

const ticksPerMicro = 10; // 100 ns units
const ticksPerNano = 0.01;

/**
 * Reads user and kernel CPU time (100 ns units) from `cpu.stat` or v1 `cpuacct`.
 *
 * v1: `cpuacct.usage` is the exact run time (ns, charged at every switch), but its user/system split
 * (`cpuacct.usage_user`/`usage_sys`, or `cpuacct.stat` in USER_HZ ticks) is sampled at the timer
 * tick, so a job that ran 2 ms between two ticks shows 0 + 0 there (seen here: usage 2,069,627 ns,
 * user 0, sys 0). The total comes from `cpuacct.usage` and is split in the sampled proportion, as the
 * kernel itself scales cgroup2's `user_usec`/`system_usec` to the exact run time; with no sample yet
 * it all counts as user time, as the kernel does.
 */
export async function readCPUTimes(place: Place): Promise<{ user: number; kernel: number }> {
  if (place.version === 2) {
    const s = parseKeyed((await readOptional(path.join(place.dir, 'cpu.stat'))) ?? '');
    return { user: (s.get('user_usec') ?? 0) * ticksPerMicro, kernel: (s.get('system_usec') ?? 0) * ticksPerMicro };
  }
  const read = async (name: string): Promise<number | undefined> => {
    const text = await readOptional(path.join(place.dir, name));
    return text === undefined ? undefined : Number(text);
  };
  const [total, user, sys] = await Promise.all([read('cpuacct.usage'), read('cpuacct.usage_user'), read('cpuacct.usage_sys')]);
  let sampled: { user: number; sys: number };
  if (user !== undefined && sys !== undefined) {
    sampled = { user, sys };
  } else {
    // Older kernels: only cpuacct.stat, in USER_HZ ticks (100 per second on every Linux ABI).
    const s = parseKeyed((await readOptional(path.join(place.dir, 'cpuacct.stat'))) ?? '');
    sampled = { user: (s.get('user') ?? 0) * 10_000_000, sys: (s.get('system') ?? 0) * 10_000_000 };
  }
  const sampledTotal = sampled.user + sampled.sys;
  const ns = total ?? sampledTotal;
  const userNs = sampledTotal === 0 ? ns : ns * (sampled.user / sampledTotal);
  return { user: Math.round(userNs * ticksPerNano), kernel: Math.round((ns - userNs) * ticksPerNano) };
}

/** Reads the page-fault count from `memory.stat` (v1 has hierarchical `total_pgfault`). */
export async function readPageFaults(place: Place | undefined): Promise<number> {
  if (place === undefined) return 0;
  const s = parseKeyed((await readOptional(path.join(place.dir, 'memory.stat'))) ?? '');
  return s.get('total_pgfault') ?? s.get('pgfault') ?? 0;
}

/** Reads current and peak memory use from a memory place. */
export async function readMemory(place: Place): Promise<JobMemoryStats> {
  const [cur, peak] =
    place.version === 2 ? ['memory.current', 'memory.peak'] : ['memory.usage_in_bytes', 'memory.max_usage_in_bytes'];
  const JobMemory = Number((await readOptional(path.join(place.dir, cur))) ?? 0);
  const [p, stat] = await Promise.all([readOptional(path.join(place.dir, peak)), readOptional(path.join(place.dir, 'memory.stat'))]);
  const s = parseKeyed(stat ?? '');
  const InactiveFile = s.get(place.version === 2 ? 'inactive_file' : 'total_inactive_file');
  return { JobMemory, PeakJobMemoryUsed: p === undefined ? JobMemory : Number(p), ...(InactiveFile === undefined ? {} : { InactiveFile }) };
}

function zeroIO(): JobIOAttributionStats {
  return { IoCount: 0, TotalNonOverlappedQueueTime: 0, TotalNonOverlappedServiceTime: 0, TotalSize: 0 };
}

/**
 * Makes the kernel count the I/O of a new job on `devices` (cgroup v1 only; cgroup2's `io.stat` always
 * counts). Recent kernels set blk-throttle up on a disk only when a throttle rule is first written for
 * it, and until then the v1 counters (`blkio.throttle.io_service_bytes`/`io_serviced`) stay 0 for
 * every cgroup — measured here: O_DIRECT writes to a fresh loop device counted nothing until a rule was
 * written. Writing "no limit" (`<dev> 0`) sets it up and leaves no rule. Best effort per disk: a device
 * the throttle does not take is left uncounted rather than failing the job.
 */
export async function startStorageAccounting(place: Place | undefined, devices: readonly DeviceNumber[]): Promise<void> {
  if (place?.version !== 1) return;
  const file = path.join(place.dir, 'blkio.throttle.read_bps_device');
  for (const dev of devices) await fs.writeFile(file, `${dev} 0`).catch(() => undefined);
}

/** Reads storage counters from `io.stat` or v1 `blkio.throttle.*`, summed over devices. */
export async function readStorage(place: Place | undefined): Promise<JobStorageStats> {
  const r = zeroIO();
  const w = zeroIO();
  if (place !== undefined && place.version === 2) {
    // "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device
    for (const line of ((await readOptional(path.join(place.dir, 'io.stat'))) ?? '').split('\n')) {
      for (const kv of line.split(' ').slice(1)) {
        const [k, v] = kv.split('=');
        const n = Number(v ?? 0);
        if (k === 'rbytes') r.TotalSize += n;
        else if (k === 'wbytes') w.TotalSize += n;
        else if (k === 'rios') r.IoCount += n;
        else if (k === 'wios') w.IoCount += n;
      }
    }
  } else if (place !== undefined) {
    // "8:0 Read 123" per device and direction, then a "Total" line that we skip.
    const sum = async (file: string, key: 'IoCount' | 'TotalSize'): Promise<void> => {
      for (const line of ((await readOptional(path.join(place.dir, file))) ?? '').split('\n')) {
        const [dev, op, v] = line.split(' ');
        if (dev === undefined || !dev.includes(':') || v === undefined) continue;
        if (op === 'Read') r[key] += Number(v);
        else if (op === 'Write') w[key] += Number(v);
      }
    };
    await sum('blkio.throttle.io_serviced', 'IoCount');
    await sum('blkio.throttle.io_service_bytes', 'TotalSize');
  }
  return { ControlFlags: 1, ReadStats: r, WriteStats: w };
}
