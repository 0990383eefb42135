import fs from 'node:fs';
import type { Stats } from '../oci/index.js';

/** Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;
const PAGE_SIZE = 4096;

/** Fields of `/proc/<pid>/stat` after the command name. */
function statFields(pid: string): string[] | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * Usage of every process in the process groups led by `leaders`, summed from `/proc`: CPU time
 * (user + system), resident memory, and the number of processes — what `events --stats` reports
 * for a container, for plain host processes.
 */
export function groupStats(leaders: number[]): Stats {
  const groups = new Set(leaders);
  let user = 0, system = 0, rss = 0, count = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(entry);
    // After the name: state(0) ppid(1) pgrp(2) … utime(11) stime(12) … rss(21).
    if (f === null || !groups.has(Number(f[2]))) continue;
    if (f[0] === 'Z') continue;
    user += Number(f[11]);
    system += Number(f[12]);
    rss += Number(f[21]) * PAGE_SIZE;
    count++;
  }
  const ns = (ticks: number) => Math.round((ticks * 1e9) / TICKS_PER_SECOND);
  return {
    cpu: { usageTotal: ns(user + system), usageUser: ns(user), usageKernel: ns(system) },
    memory: { usage: rss },
    pids: { current: count },
    raw: { source: '/proc', groups: [...groups] },
  };
}
