/**
 * The longest delay a Node timer takes (about 24.8 days): a longer one fires at once, with a
 * `TimeoutOverflowWarning`. A moment further away than that is never reached by a wait here.
 */
export const maxTimerMs = 2 ** 31 - 1;

/**
 * Settles `reached` once the clock passes `ms` (epoch milliseconds): a follow's or an event
 * stream's `until`. `cancel` lets go of the timer.
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
