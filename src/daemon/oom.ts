import fs from 'node:fs';
import path from 'node:path';
import { cgroupLayout } from '../runtime/jobobject/index.js';

/**
 * Counts the OOM kills in a task's memory cgroup, to publish docker's `oom` event: the cgroup of
 * the task's pid (runc's, the job object's of a host task, runsc's sandbox), its `oom_kill`
 * counter (cgroup v1 `memory.oom_control`, v2 `memory.events`) read when the task starts and when
 * it exits.
 */
export class OomCounter {
  private constructor(private readonly file: string, private readonly base: number) {}

  /** For the task whose watched pid is `pid`; null when it has no memory cgroup of its own. */
  static of(pid: number): OomCounter | null {
    let lines: string[];
    try {
      lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
    } catch {
      return null;
    }
    const layout = cgroupLayout();
    const v1 = layout.v1.get('memory');
    const entry = lines.find((l) => v1 ? l.split(':')[1]?.split(',').includes('memory') : l.startsWith('0::'));
    const rel = entry?.split(':').slice(2).join(':');
    const mount = v1 ?? layout.v2;
    // The root cgroup's counter is the whole machine's.
    if (!rel || rel === '/' || !mount) return null;
    const file = path.join(mount, rel, v1 ? 'memory.oom_control' : 'memory.events');
    const base = readOomKills(file);
    return base === null ? null : new OomCounter(file, base);
  }

  /** OOM kills since {@link of} (0 when the cgroup is gone). */
  kills(): number {
    return Math.max(0, (readOomKills(this.file) ?? this.base) - this.base);
  }
}

function readOomKills(file: string): number | null {
  try {
    const m = /^oom_kill (\d+)$/m.exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return null;
  }
}
