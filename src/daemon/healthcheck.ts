import { TaskioError } from '../errors.js';
import { maxTimerMs } from '../maxTimerMs.js';
import { checkFields } from './check.js';

/**
 * docker's `HealthConfig` (a create request's `healthcheck`): what checks that a task works, and
 * how often. Times are nanoseconds, as in docker's API; 0 or absent is the default.
 */
export interface HealthConfig {
  /**
   * `["CMD-SHELL", "cmd"]`: `/bin/sh -c cmd` in the task (`run --health-cmd`); `["CMD", arg…]`:
   * the command as it is; `["NONE"]`: no check (`run --no-healthcheck`).
   */
  test: string[];
  /** Between two checks (default 30 s). */
  interval?: number;
  /** The longest one check may run before it is killed and counted as failed (default 30 s). */
  timeout?: number;
  /** After the start, failures do not count towards `retries` for this long (default 0). */
  startPeriod?: number;
  /** Between two checks during the start period, until the first success (default 5 s; docker ≥ 25). */
  startInterval?: number;
  /** Consecutive failures that make the task `unhealthy` (default 3). */
  retries?: number;
}

/** The timing of a check with docker's defaults filled in, in milliseconds. */
export interface HealthTiming {
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
}

const nsPerMs = 1_000_000;
const durations = ['interval', 'timeout', 'startPeriod', 'startInterval'] as const;
/** docker's defaults (moby's `defaultProbeInterval` …), in ms. */
const defaults = { interval: 30_000, timeout: 30_000, startPeriod: 0, startInterval: 5_000, retries: 3 };

/**
 * Checks a request's `healthcheck`. docker's daemon refuses a time between 0 and 1 ms and negative
 * retries; one longer than a Node timer can wait (24.8 days) is refused too, as it would fire at once.
 * @returns the check to run, or null for `["NONE"]`.
 * @throws TaskioError `ERR_INVALID_FIELD` / `ERR_UNKNOWN_FIELD` naming the field and value.
 */
export function checkHealthConfig(value: unknown): HealthConfig | null {
  const c = checkFields<HealthConfig>(value, {
    test: 'string[]!', interval: 'integer', timeout: 'integer', startPeriod: 'integer', startInterval: 'integer', retries: 'integer',
  }, 'healthcheck');
  const [kind, ...args] = c.test;
  const bad = (message: string): TaskioError => new TaskioError('ERR_INVALID_FIELD', message);
  const shape = kind === 'NONE' ? args.length === 0
    : kind === 'CMD-SHELL' ? args.length === 1 && args[0] !== ''
      : kind === 'CMD' && args.length > 0 && args[0] !== '';
  if (!shape || c.test.some((a) => a.includes('\0'))) {
    throw bad(`field "healthcheck.test" must be ["CMD-SHELL", "command"], ["CMD", "arg", …] or ["NONE"], got ${JSON.stringify(c.test)}`);
  }
  for (const key of durations) {
    const ns = c[key];
    if (ns !== undefined && ns !== 0 && (ns < nsPerMs || ns > maxTimerMs * nsPerMs)) {
      throw bad(`field "healthcheck.${key}" must be 0 (the default) or 1ms to 24.8 days, in nanoseconds; got ${ns}`);
    }
  }
  if (c.retries !== undefined && c.retries < 0) throw bad(`field "healthcheck.retries" cannot be negative, got ${c.retries}`);
  return kind === 'NONE' ? null : c;
}

/** The timing of `config`, docker's default where a value is 0 or absent. */
export function healthTiming(config: HealthConfig): HealthTiming {
  const ms = (key: (typeof durations)[number]): number => (config[key] ? config[key] / nsPerMs : defaults[key]);
  return {
    intervalMs: ms('interval'), timeoutMs: ms('timeout'), startPeriodMs: ms('startPeriod'), startIntervalMs: ms('startInterval'),
    retries: config.retries || defaults.retries,
  };
}

/** The command line of a check: a `CMD-SHELL` one runs under `/bin/sh -c`, as docker runs it on Linux. */
export function healthCommand(config: HealthConfig): string[] {
  const [kind, ...args] = config.test;
  return kind === 'CMD-SHELL' ? ['/bin/sh', '-c', ...args] : args;
}
