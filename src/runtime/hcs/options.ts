import type { Logger } from 'pino';
import { systemClock, type Clock } from './clock.js';
import { silentLogger, type LogSink } from './log.js';
import { defaultLostExitDelayMs, defaultTimeouts, type HcsTimeouts } from './timeouts.js';

/** Options of a `System` (and inherited by its processes). */
export interface SystemOptions {
  /** Operation wait timeouts in ms; unset fields take hcsshim's 4-minute default. */
  timeouts?: Partial<HcsTimeouts>;
  /** Delay before a process whose exit notification went missing is queried (default 1000 ms). */
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

/** Applies the defaults. */
export function resolveOptions(o: SystemOptions = {}): ResolvedOptions {
  return {
    timeouts: { ...defaultTimeouts, ...o.timeouts },
    lostExitDelayMs: o.lostExitDelayMs ?? defaultLostExitDelayMs,
    clock: o.clock ?? systemClock,
    logger: o.logger ?? silentLogger,
  };
}
