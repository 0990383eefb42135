/**
 * The timers the HCS state machine uses. Injectable so tests drive timeouts and the lost-exit
 * fallback by advancing a manual clock instead of sleeping.
 */
export interface Clock {
  /** Schedules `fn` after `ms` milliseconds and returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a handle from `setTimeout` (a no-op for one that already fired). */
  clearTimeout(handle: unknown): void;
}

/** The real clock: Node's timers. */
export const systemClock: Clock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
