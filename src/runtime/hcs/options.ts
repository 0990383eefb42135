import type { Logger } from 'pino';
import { TaskioError } from '../../errors.js';
import { maxTimerMs } from '../../maxTimerMs.js';
import { systemClock, type Clock } from './clock.js';
import { silentLogger, type LogSink } from './log.js';
import { defaultLostExitDelayMs, defaultTimeouts, type HcsTimeouts } from './timeouts.js';

/** Options of a `System` (and inherited by its processes). */
export interface SystemOptions {
  /**
   * Operation wait timeouts in ms (0..2147483647, Node's longest timer); fields left out or
   * `undefined` take hcsshim's 4-minute default.
   */
  timeouts?: Partial<HcsTimeouts>;
  /** Delay before a process whose exit notification went missing is queried (default 1000 ms; 0..2147483647). */
  lostExitDelayMs?: number;
  /** Timers; tests pass a manual clock. */
  clock?: Clock;
  /** Where debug logs go (silent by default). */
  logger?: Logger;
}

/** `SystemOptions` with every default applied. */
export interface ResolvedOptions {
  /** See `SystemOptions.timeouts`. */
  timeouts: HcsTimeouts;
  /** See `SystemOptions.lostExitDelayMs`. */
  lostExitDelayMs: number;
  /** See `SystemOptions.clock`. */
  clock: Clock;
  /** See `SystemOptions.logger`. */
  logger: LogSink;
}

/** Checks a delay in ms for a timer. */
function checkDelay(name: string, ms: unknown): number {
  if (typeof ms !== 'number' || !(ms >= 0 && ms <= maxTimerMs)) {
    const shown = typeof ms === 'string' ? JSON.stringify(ms) : String(ms);
    throw new TaskioError('ERR_OUT_OF_RANGE', `${name} of \`${shown}\` is invalid: must be a number of ms in 0..${maxTimerMs}`);
  }
  return ms;
}

/**
 * Applies the defaults, field by field: a field given as `undefined` is left out, not a wait without
 * a bound (a spread would have copied the `undefined` over the default).
 * @throws TaskioError `ERR_OUT_OF_RANGE` for a delay a timer cannot take, `ERR_INVALID_ARG_VALUE` for
 * a timeout of an operation that does not exist.
 */
export function resolveOptions(o: SystemOptions = {}): ResolvedOptions {
  const timeouts: HcsTimeouts = { ...defaultTimeouts };
  for (const [name, ms] of Object.entries(o.timeouts ?? {})) {
    if (!Object.hasOwn(defaultTimeouts, name)) {
      throw new TaskioError('ERR_INVALID_ARG_VALUE', `timeouts.${name}: no such operation (known: ${Object.keys(defaultTimeouts).join(', ')})`);
    }
    if (ms !== undefined) timeouts[name as keyof HcsTimeouts] = checkDelay(`timeouts.${name}`, ms);
  }
  return {
    timeouts,
    lostExitDelayMs: o.lostExitDelayMs === undefined ? defaultLostExitDelayMs : checkDelay('lostExitDelayMs', o.lostExitDelayMs),
    clock: o.clock ?? systemClock,
    logger: o.logger ?? silentLogger,
  };
}
