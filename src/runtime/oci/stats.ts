import type { Stats } from './types.js';

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
}

/**
 * Parses what `events --stats` prints (one JSON event, `{"type":"stats","data":{…}}`) into
 * {@link Stats}. A field the runtime left out reads as 0 for the totals, so callers need no guards.
 */
export function parseStats(stdout: string): Stats {
  const event = obj(JSON.parse(stdout.trim()));
  const data = obj(event.data);
  const cpu = obj(obj(data.cpu).usage), mem = obj(data.memory), memUsage = obj(mem.usage), pids = obj(data.pids);
  const stats: Stats = {
    cpu: { usageTotal: num(cpu.total) ?? 0 },
    memory: { usage: num(memUsage.usage) ?? 0 },
    pids: { current: num(pids.current) ?? 0 },
    raw: data,
  };
  const kernel = num(cpu.kernel), user = num(cpu.user), limit = num(memUsage.limit), max = num(memUsage.max), pidLimit = num(pids.limit);
  const memStat = obj(mem.raw); // the cgroup's `memory.stat` (runc)
  const inactiveFile = num(memStat.total_inactive_file) ?? num(memStat.inactive_file);
  if (kernel !== undefined) stats.cpu.usageKernel = kernel;
  if (user !== undefined) stats.cpu.usageUser = user;
  if (limit !== undefined) stats.memory.limit = limit;
  if (max !== undefined) stats.memory.max = max;
  if (inactiveFile !== undefined) stats.memory.inactiveFile = inactiveFile;
  if (pidLimit !== undefined) stats.pids.limit = pidLimit;
  return stats;
}
