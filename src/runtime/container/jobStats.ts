import fs from 'node:fs/promises';
import type { Stats } from '../oci/index.js';
import type { JobObject } from '../jobobject/index.js';

/** 100 ns (a Windows tick, the unit of JobObject's CPU times) in nanoseconds. */
const NS_PER_TICK = 100;
/** The page size of `/proc/<pid>/statm` (4 KiB on the architectures Node ships for Linux, bar some arm64/ppc64 kernels). */
const PAGE_SIZE = 4096;

/**
 * A job's usage in the shape `events --stats` gives for runsc/runc, so every backend's `stats()`
 * reads the same: CPU time in ns (from the cgroup's 100 ns accounting, exited processes included),
 * the memory of the job's processes and the live process count. `raw` holds the JobObject's own
 * records and both memory figures.
 *
 * Memory is the larger of the cgroup's charge (page cache included, as for runc) and the resident
 * sets of the job's processes: a process moved into the job after it started leaves what it had
 * already allocated charged outside (Linux never moves charges), so the cgroup alone would report
 * almost nothing for an idle init.
 */
export async function jobStats(job: JobObject): Promise<Stats> {
  const [cpu, pids] = await Promise.all([job.queryProcessorStats(), job.pids()]);
  const memory = await job.queryMemoryStats().catch(() => null); // no memory controller: resident sets only
  const resident = await residentBytes(pids);
  const usage = Math.max(memory?.JobMemory ?? 0, resident);
  // Inactive page cache is part of the cgroup's charge only: never more than what usage holds beyond the resident sets.
  const inactiveFile = memory?.InactiveFile === undefined ? undefined : Math.max(0, Math.min(memory.InactiveFile, usage - resident));
  return {
    cpu: {
      usageTotal: (cpu.TotalUserTime + cpu.TotalKernelTime) * NS_PER_TICK,
      usageUser: cpu.TotalUserTime * NS_PER_TICK,
      usageKernel: cpu.TotalKernelTime * NS_PER_TICK,
    },
    memory: { usage, ...(memory ? { max: Math.max(memory.PeakJobMemoryUsed, usage) } : {}), ...(inactiveFile === undefined ? {} : { inactiveFile }) },
    pids: { current: pids.length },
    raw: { source: 'jobobject', cgroupPaths: [...job.cgroupPaths], processor: { ...cpu }, memory: memory ? { ...memory } : null, residentBytes: resident },
  };
}

/** The summed resident set of `pids` (`/proc/<pid>/statm`, second field); exited ones count 0. */
async function residentBytes(pids: readonly number[]): Promise<number> {
  const sizes = await Promise.all(pids.map(async (pid) => {
    const statm = await fs.readFile(`/proc/${pid}/statm`, 'utf8').catch(() => '');
    return Number(statm.split(' ')[1] ?? 0) * PAGE_SIZE || 0;
  }));
  return sizes.reduce((a, b) => a + b, 0);
}
