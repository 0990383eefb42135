import { maxTimerMs } from '../maxTimerMs.js';

/**
 * Settles `reached` once the clock passes `ms` (epoch milliseconds): a follow's or an event
 * stream's `until`. `cancel` lets go of the timer. A moment further away than {@link maxTimerMs}
 * is never reached.
 */
export function clockPasses(ms: number): { reached: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const reached = new Promise<void>((resolve) => {
    const wait = ms - Date.now() + 1;
    if (wait <= 0) resolve();
    else if (wait <= maxTimerMs) timer = setTimeout(resolve, wait);
  });
  return { reached, cancel: () => clearTimeout(timer) };
}
