import path from 'node:path';
import { parseKeyed, readOptional, type Place } from './cgroup.js';

/**
 * Where the kernel counts the times a job hit its memory limit: the Linux side of Windows'
 * `JOB_OBJECT_MSG_JOB_MEMORY_LIMIT`, which Windows posts when a process of the job would commit past
 * the job's limit (and the allocation fails). Linux does not fail the allocation at the limit: the
 * charge first reclaims (cgroup2's `max` counts each such time, page cache included, and most of them
 * succeed), and only when nothing more can be reclaimed is the allocation about to fail and the OOM
 * killer run. That is the hit counted here:
 * - cgroup2: `oom` of `memory.events` — the limit reached and an allocation about to fail, once per
 *   OOM however many processes `memory.oom.group` then kills. The kernel notifies a change of the file
 *   (inotify).
 * - v1: `oom_kill` of `memory.oom_control` — v1 shows no count of OOMs, only of kills, and a v1 OOM
 *   kills one process. It also counts a kill of a process of the job by the machine-wide OOM killer.
 *   v1 tells of an OOM only through an eventfd registered in `cgroup.event_control`, which Node cannot
 *   wait on without blocking a thread of its pool, so this file is polled.
 */
export interface MemoryEvents {
  /** The file that holds the counter. */
  readonly file: string;
  /** The counter's key in it. */
  readonly key: 'oom' | 'oom_kill';
  /** Whether the kernel notifies a change of the file (inotify works on it). */
  readonly notifies: boolean;
}

/** The {@link MemoryEvents} of a job's memory place. */
export function memoryEvents(place: Place): MemoryEvents {
  return place.version === 2
    ? { file: path.join(place.dir, 'memory.events'), key: 'oom', notifies: true }
    : { file: path.join(place.dir, 'memory.oom_control'), key: 'oom_kill', notifies: false };
}

/** The limit hits counted so far; undefined when the kernel has no such counter (or the cgroup is gone). */
export async function readLimitHits(events: MemoryEvents): Promise<number | undefined> {
  const text = await readOptional(events.file);
  return text === undefined ? undefined : parseKeyed(text).get(events.key);
}
