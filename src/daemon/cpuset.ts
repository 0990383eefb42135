import fs from 'node:fs';
import os from 'node:os';
import { TaskioError } from '../errors.js';

/** The kernel's (and docker's `linuxMinCPUShares`, `linuxMaxCPUShares`) range of `cpu.shares`. */
export const minCpuShares = 2;
export const maxCpuShares = 262_144;

/**
 * docker's `--cpuset-cpus` list (`0-1,3`), as moby's `ParseUintList`: comma-separated CPU numbers
 * and `low-high` ranges, nothing else (no blanks, no empty item, no reversed range).
 * @returns the CPUs it names, or `null` when it is not such a list.
 */
export function parseCpuList(list: string): Set<number> | null {
  const cpus = new Set<number>();
  for (const item of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!m) return null;
    const low = Number(m[1]);
    const high = m[2] === undefined ? low : Number(m[2]);
    // A range as wide as the kernel's CPU numbers at most (NR_CPUS ≤ 8192): no loop over a huge one.
    if (high < low || high > 8191) return null;
    for (let cpu = low; cpu <= high; cpu++) cpus.add(cpu);
  }
  return cpus;
}

/** The CPUs this machine has online (`/sys/devices/system/cpu/online`; else 0 to the CPU count - 1). */
export function onlineCpus(): string {
  try {
    return fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  } catch {
    return `0-${os.availableParallelism() - 1}`;
  }
}

/**
 * Checks a cpuset as docker's daemon does: a list it can read, of CPUs this machine has — docker's
 * messages, `Invalid value X for cpuset cpus` and `Requested CPUs are not available - requested X,
 * available: Y`.
 * @throws TaskioError `ERR_INVALID_LIMIT`.
 */
export function checkCpusetCpus(list: string): void {
  const wanted = parseCpuList(list);
  if (wanted === null) throw new TaskioError('ERR_INVALID_LIMIT', `invalid limit cpusetCpus=${JSON.stringify(list)}: Invalid value ${list} for cpuset cpus`);
  const available = onlineCpus();
  const have = parseCpuList(available) ?? new Set<number>();
  for (const cpu of wanted) {
    if (!have.has(cpu)) {
      throw new TaskioError('ERR_INVALID_LIMIT', `invalid limit cpusetCpus=${JSON.stringify(list)}: Requested CPUs are not available - requested ${list}, available: ${available}`);
    }
  }
}
