import { TaskioError } from '../errors.js';
import type { HealthConfig } from '../daemon/healthcheck.js';
import { maxTimerMs } from '../maxTimerMs.js';
import type { FlagSpec, ParsedArgs } from './flags.js';
import { parseGoDuration } from './since.js';
import { parseInteger } from './values.js';

function invalid(message: string): TaskioError {
  return new TaskioError('ERR_INVALID_ARG_VALUE', message);
}

/**
 * A `--health-*` duration: Go's (`1m30s`, `500ms`), as docker's flags read it (pflag's
 * `time: invalid duration "x"`); not negative (docker's CLI), 0 or at least 1ms (docker's daemon),
 * at most what a timer can wait (24.8 days).
 * @returns nanoseconds, as docker's API carries them.
 */
export function parseHealthDuration(value: string): number {
  const ns = parseGoDuration(value);
  if (ns === undefined) throw invalid(`time: invalid duration ${JSON.stringify(value)}`);
  if (ns < 0n) throw invalid('the duration cannot be negative');
  if (ns !== 0n && ns < 1_000_000n) throw invalid('the duration must be 0 (the default) or at least 1ms');
  if (ns > BigInt(maxTimerMs) * 1_000_000n) throw invalid('the duration must be at most 596h31m23.647s (24.8 days)');
  return Number(ns);
}

/** `--health-retries`: a whole number, not negative (0 is the default, 3). */
function parseHealthRetries(value: string): number {
  const n = parseInteger(value);
  if (n < 0) throw invalid('the retries cannot be negative');
  return n;
}

/** `--health-cmd`: a shell command line (run as `/bin/sh -c CMD`). */
function parseHealthCmd(value: string): string {
  if (value === '' || value.includes('\0')) throw invalid('expected a command');
  return value;
}

const duration = (name: string, description: string): FlagSpec => ({ name, kind: 'string', valueName: 'duration', description, parse: parseHealthDuration });

/** docker's health check flags of `run` and `create`. */
export const healthFlags: FlagSpec[] = [
  { name: 'health-cmd', kind: 'string', description: 'Command to run to check health (in the task, with /bin/sh -c)', parse: parseHealthCmd },
  duration('health-interval', 'Time between running the check (ms|s|m|h) (default 30s)'),
  { name: 'health-retries', kind: 'string', valueName: 'int', description: 'Consecutive failures needed to report unhealthy (default 3)', parse: parseHealthRetries },
  duration('health-start-interval', 'Time between running the check during the start period (ms|s|m|h) (default 5s)'),
  duration('health-start-period', 'Start period for the task to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)'),
  duration('health-timeout', 'Maximum time to allow one check to run (ms|s|m|h) (default 30s)'),
  { name: 'no-healthcheck', kind: 'bool', description: 'Disable any task-specified HEALTHCHECK' },
];

/** `--no-healthcheck` with a `--health-*` flag: docker's "conflicts with --health-* options". */
export const healthConflicts: Array<[string, string]> = healthFlags.filter((f) => f.name.startsWith('health-')).map((f) => ['no-healthcheck', f.name]);

/**
 * The request's `healthcheck` of a command line: a `CMD-SHELL` check with `--health-cmd`, `NONE`
 * with `--no-healthcheck`. Timing flags without `--health-cmd` change nothing, as in docker, where
 * they would tune the image's HEALTHCHECK — a task has none.
 */
export function commandHealthcheck(a: ParsedArgs): { healthcheck?: HealthConfig } {
  if (a.bool('no-healthcheck')) return { healthcheck: { test: ['NONE'] } };
  const cmd = a.value('health-cmd');
  if (cmd === undefined) return {};
  const opt = (key: keyof HealthConfig, flag: string) => (a.given(flag) ? { [key]: a.value<number>(flag)! } : {});
  return {
    healthcheck: {
      test: ['CMD-SHELL', cmd],
      ...opt('interval', 'health-interval'), ...opt('timeout', 'health-timeout'), ...opt('startPeriod', 'health-start-period'),
      ...opt('startInterval', 'health-start-interval'), ...opt('retries', 'health-retries'),
    },
  };
}
