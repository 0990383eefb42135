import fs from 'node:fs';
import path from 'node:path';
import { cgroupLayout, processCgroup } from '../runtime/jobobject/index.js';
import type { OomCounterRecord } from './records.js';

/**
 * Counts the OOM kills in a task's memory cgroup, for docker's `oom` event and its exit's
 * `oomKilled` (docker's `State.OOMKilled`): its `oom_kill` counter (cgroup v1
 * `memory.oom_control`, v2 `memory.events`) read before the task runs (kept in its record, so a
 * daemon that adopts it counts from there), or when a daemon adopts a task whose record has none,
 * and again when it exits.
 */
export class OomCounter {
  private constructor(private readonly file: string, private readonly base: number, private readonly cgroup: string | null) {}

  /**
   * For the cgroup `cgroupPath` (from the hierarchy's root, as a spec's `linux.cgroupsPath` or a
   * job's), taken before the task runs: a task killed at once is still counted, which a counter
   * found through the task's pid cannot promise (the pid may be reaped before it is read). A
   * cgroup not made yet counts from 0. Null when there is no memory hierarchy.
   */
  static at(cgroupPath: string): OomCounter | null {
    const file = counterFile(cgroupPath);
    return file === null ? null : new OomCounter(file, readOomKills(file) ?? 0, cgroupPath);
  }

  /**
   * The counter a task's record kept ({@link saved}): a daemon that adopts the task counts from the
   * base taken before its run, so a kill while no daemon ran is counted too. Null when there is no
   * memory hierarchy.
   */
  static resume(saved: OomCounterRecord): OomCounter | null {
    const file = counterFile(saved.cgroup);
    return file === null ? null : new OomCounter(file, saved.base, saved.cgroup);
  }

  /** For the running task whose watched pid is `pid` (an adopted one); null when it has no memory cgroup of its own. */
  static of(pid: number): OomCounter | null {
    const where = processCgroup(pid, 'memory');
    // The root cgroup's counter is the whole machine's.
    if (where === null || where.path === '/') return null;
    const file = counterFile(where.path);
    const base = file === null ? null : readOomKills(file);
    return base === null ? null : new OomCounter(file!, base, null);
  }

  /** What a task's record keeps of it; null for one found through a pid (taken at an adoption, not before the run). */
  saved(): OomCounterRecord | null {
    return this.cgroup === null ? null : { cgroup: this.cgroup, base: this.base };
  }

  /** OOM kills since the counter was taken (0 when the cgroup is gone). */
  kills(): number {
    return Math.max(0, (readOomKills(this.file) ?? this.base) - this.base);
  }
}

/** The file holding the OOM kill count of the memory cgroup `rel`, or null without a memory hierarchy. */
function counterFile(rel: string): string | null {
  const layout = cgroupLayout();
  const v1 = layout.v1.get('memory');
  const mount = v1 ?? layout.v2;
  return mount ? path.join(mount, rel, v1 ? 'memory.oom_control' : 'memory.events') : null;
}

function readOomKills(file: string): number | null {
  try {
    const m = /^oom_kill (\d+)$/m.exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return null;
  }
}
