/**
 * The longest delay a Node timer takes (2^31 − 1 ms, about 24.8 days): a longer one — or NaN, or
 * Infinity — fires at once, with a `TimeoutOverflowWarning`. Every timeout taskio takes from a
 * caller is bounded by it.
 */
export const maxTimerMs = 2 ** 31 - 1;
