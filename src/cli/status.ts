import { humanDuration } from './units.js';

/** What `ps` needs to know of a task to write its STATUS. Times are `Date`s or ISO strings. */
export interface TaskStatusInfo {
  /** The task's state; `stopped` and `exited` both mean it has exited. */
  state: 'created' | 'running' | 'paused' | 'stopped' | 'exited' | string;
  startedAt?: Date | string | null;
  exitedAt?: Date | string | null;
  /** The exit code; `null` when nobody saw the exit. */
  exitCode?: number | null;
  /** Its health status, when it has a check. */
  health?: 'starting' | 'healthy' | 'unhealthy' | null;
}

function ms(t: Date | string | null | undefined): number | undefined {
  if (t === null || t === undefined) return undefined;
  const v = (t instanceof Date ? t : new Date(t)).getTime();
  return Number.isNaN(v) ? undefined : v;
}

/**
 * The STATUS column of `ps`, as docker writes a container's state: `Up 3 minutes`,
 * `Up About an hour (Paused)`, `Up 3 minutes (healthy)`, `Up 5 seconds (health: starting)`,
 * `Exited (3) 2 seconds ago`, `Created`. An exit nobody saw reads
 * `Exited (unknown)` (docker would show containerd's 255; taskio does not make a code up).
 */
export function statusText(task: TaskStatusInfo, now: Date = new Date()): string {
  const started = ms(task.startedAt);
  const ago = (t: number | undefined) => (t === undefined ? '' : ` ${humanDuration(now.getTime() - t)} ago`);
  switch (task.state) {
    case 'running':
    case 'paused': {
      const up = `Up ${humanDuration(started === undefined ? 0 : now.getTime() - started)}`;
      if (task.state === 'paused') return `${up} (Paused)`;
      if (!task.health) return up;
      return `${up} (${task.health === 'starting' ? 'health: starting' : task.health})`;
    }
    case 'restarting': {
      const code = task.exitCode === null || task.exitCode === undefined ? 'unknown' : String(task.exitCode);
      return `Restarting (${code})${ago(ms(task.exitedAt))}`;
    }
    case 'exited':
    case 'stopped': {
      if (started === undefined) return 'Created'; // never started: docker says Created too
      const code = task.exitCode === null || task.exitCode === undefined ? 'unknown' : String(task.exitCode);
      return `Exited (${code})${ago(ms(task.exitedAt))}`;
    }
    case 'created':
      return 'Created';
    default:
      return task.state.charAt(0).toUpperCase() + task.state.slice(1);
  }
}

/** The CREATED column of `ps`: `5 minutes ago`, as docker's `CreatedSince`. */
export function createdText(createdAt: Date | string, now: Date = new Date()): string {
  const t = ms(createdAt);
  return t === undefined ? '' : `${humanDuration(now.getTime() - t)} ago`;
}
