import { TaskioError } from '../errors.js';
import { checkFields } from './check.js';

/** The restart policies, docker's names. */
export const restartPolicyNames = ['no', 'on-failure', 'always', 'unless-stopped'] as const;

/** When the daemon starts a task again after it exited (docker's `HostConfig.RestartPolicy`). */
export interface RestartPolicy {
  name: (typeof restartPolicyNames)[number];
  /** on-failure: give up after this many restarts; 0 or absent: never give up. */
  maximumRetryCount?: number;
}

/**
 * Checks the API's `restartPolicy`.
 * @throws TaskioError `ERR_INVALID_FIELD` naming the bad value.
 */
export function checkRestartPolicy(value: unknown): RestartPolicy {
  const p = checkFields<RestartPolicy>(value, { name: 'string!', maximumRetryCount: 'integer' }, 'restartPolicy');
  if (!(restartPolicyNames as readonly string[]).includes(p.name)) {
    throw new TaskioError('ERR_INVALID_FIELD', `unknown restart policy ${JSON.stringify(p.name)} (known: ${restartPolicyNames.join(', ')})`);
  }
  if (p.maximumRetryCount !== undefined && (p.maximumRetryCount < 0 || (p.maximumRetryCount > 0 && p.name !== 'on-failure'))) {
    throw new TaskioError('ERR_INVALID_FIELD', `maximumRetryCount ${p.maximumRetryCount} is for the on-failure policy only, 0 or more`);
  }
  return p;
}

/** The first wait before a restart; each restart after a short run doubles it, up to {@link maxDelayMs}. */
export const firstDelayMs = 100;
export const maxDelayMs = 60_000;
/** A run at least this long starts the waits over from {@link firstDelayMs}. */
export const steadyRunMs = 10_000;

/** What the decision looks at, for one exit. */
export interface ExitFacts {
  /** The exit code; null when nobody saw it (an exit while no daemon ran). */
  exitCode: number | null;
  /** A client stopped or killed the task (`stop`, `kill`) since it was last started by hand. */
  manuallyStopped: boolean;
  /** Restarts done so far by the policy. */
  restartCount: number;
  /** How long the run that ended lasted. */
  ranMs: number;
  /** The wait before the previous restart; 0 before the first. */
  lastDelayMs: number;
  /** The exit is seen as the daemon starts (it happened while none ran, or a restart was due then). */
  daemonStart: boolean;
}

/**
 * Whether, and after how long, a task that exited is started again — docker's rules:
 * 1. `no`: never.
 * 2. Stopped or killed by a client: not restarted, whatever the policy — except `always`, which
 *    comes back when the daemon starts (docker: "restarted only when the daemon restarts").
 * 3. `on-failure`: only after a non-zero exit (an exit nobody saw counts as a failure: the task
 *    did not end as planned), and only while `restartCount` is below `maximumRetryCount` (when set).
 * 4. `always`, `unless-stopped`: after every exit.
 * 5. The wait: {@link firstDelayMs} after a run of {@link steadyRunMs} or more (or for the first
 *    restart), else twice the previous wait, at most {@link maxDelayMs}: a task that fails at once
 *    is retried ever more slowly, never in a tight loop.
 * @returns the wait in ms, or null for no restart.
 */
export function restartDelay(policy: RestartPolicy | undefined, exit: ExitFacts): number | null {
  const name = policy?.name ?? 'no';
  if (name === 'no') return null;
  if (exit.manuallyStopped && !(name === 'always' && exit.daemonStart)) return null;
  if (name === 'on-failure') {
    if (exit.exitCode === 0) return null;
    const max = policy?.maximumRetryCount ?? 0;
    if (max > 0 && exit.restartCount >= max) return null;
  }
  if (exit.ranMs >= steadyRunMs || exit.lastDelayMs === 0) return firstDelayMs;
  return Math.min(exit.lastDelayMs * 2, maxDelayMs);
}
