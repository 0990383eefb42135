import type { TaskLimits } from '../daemon/records.js';
import type { FlagSpec, ParsedArgs } from './flags.js';
import { parseCpuShares, parseCpus, parseCpusetCpus, parseLimitBytes, parseMemorySwap, parsePidsLimit } from './values.js';

/**
 * `--memory`, `--cpus` (as docker: nano-CPUs), `--pids-limit`, `--cpuset-cpus`, `--cpu-shares`,
 * `--memory-reservation`, `--memory-swap` of `run`. A value docker takes as none given (0, and an
 * empty `--cpuset-cpus`) parses to no value.
 */
export const limitFlags: FlagSpec[] = [
  { name: 'memory', short: 'm', kind: 'string', valueName: 'bytes', description: 'Memory limit', parse: parseLimitBytes },
  { name: 'cpus', kind: 'string', valueName: 'decimal', description: 'Number of CPUs', parse: parseCpus },
  { name: 'pids-limit', kind: 'string', valueName: 'int', description: 'Tune task pids limit (set -1 for unlimited)', parse: parsePidsLimit },
  { name: 'memory-reservation', kind: 'string', valueName: 'bytes', description: 'Memory soft limit', parse: parseLimitBytes },
  { name: 'memory-swap', kind: 'string', valueName: 'bytes', description: 'Swap limit equal to memory plus swap: \'-1\' to enable unlimited swap', parse: parseMemorySwap },
  { name: 'cpu-shares', short: 'c', kind: 'string', valueName: 'int', description: 'CPU shares (relative weight)', parse: parseCpuShares },
  { name: 'cpuset-cpus', kind: 'string', valueName: 'string', description: 'CPUs in which to allow execution (0-3, 0,1)', parse: parseCpusetCpus },
];

/** The same flags for `update`, where `--pids-limit -1` (or 0) takes a pids limit away: -1. */
export const limitChangeFlags: FlagSpec[] = limitFlags.map((f) => (f.name === 'pids-limit' ? { ...f, parse: (v: string) => parsePidsLimit(v) ?? -1 } : f));

/** The API's `limits` of a command line's limit flags (empty when none was given). */
export function commandLimits(a: ParsedArgs): TaskLimits {
  const limits: TaskLimits = {};
  const memory = a.value<number>('memory');
  const nanoCpus = a.value<number>('cpus');
  const pids = a.value<number>('pids-limit');
  if (memory !== undefined) limits.memory = memory;
  if (nanoCpus !== undefined) limits.cpus = nanoCpus / 1e9;
  if (pids !== undefined) limits.pids = pids;
  const cpusetCpus = a.value<string>('cpuset-cpus');
  if (cpusetCpus !== undefined) limits.cpusetCpus = cpusetCpus;
  const memoryReservation = a.value<number>('memory-reservation');
  if (memoryReservation !== undefined) limits.memoryReservation = memoryReservation;
  const memorySwap = a.value<number>('memory-swap');
  if (memorySwap !== undefined) limits.memorySwap = memorySwap;
  const cpuShares = a.value<number>('cpu-shares');
  if (cpuShares !== undefined) limits.cpuShares = cpuShares;
  return limits;
}

/** Whether the command line names any limit flag, even with a value that is none given (`--memory 0`). */
export function namesLimits(a: ParsedArgs): boolean {
  return limitFlags.some((f) => a.given(f.name));
}
