/** `n` with its fraction of `digits` decimal places, trailing zeros (and a bare point) cut: Go's `fmtFrac`. */
function withFraction(n: number, digits: number): string {
  const scale = 10 ** digits;
  const whole = Math.floor(n / scale), frac = n % scale;
  return frac === 0 ? String(whole) : `${whole}.${String(frac).padStart(digits, '0').replace(/0+$/, '')}`;
}

/**
 * A duration as Go's `time.Duration.String()` writes it — what docker's messages show:
 * `30s`, `1m30s`, `1h0m0s`, `1.5s`, `500ms`, `0s`.
 * @param ns - whole nanoseconds, 0 or more.
 */
export function goDurationString(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1_000) return `${ns}ns`;
  if (ns < 1_000_000) return `${withFraction(ns, 3)}µs`;
  if (ns < 1_000_000_000) return `${withFraction(ns, 6)}ms`;
  const seconds = `${withFraction(ns % 60_000_000_000, 9)}s`;
  const minutes = Math.floor(ns / 60_000_000_000);
  if (minutes === 0) return seconds;
  const hours = Math.floor(minutes / 60);
  return hours === 0 ? `${minutes}m${seconds}` : `${hours}h${minutes % 60}m${seconds}`;
}
