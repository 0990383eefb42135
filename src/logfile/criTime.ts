/**
 * CRI timestamps: RFC 3339 in UTC with exactly nine fractional digits, as containerd's CRI logger
 * writes them (`2006-01-02T15:04:05.000000000Z07:00`). A fixed width keeps entries sortable as text.
 */

// Date.now() has millisecond resolution; hrtime has nanoseconds from an arbitrary origin. Anchor
// hrtime to the wall clock once and re-anchor when the two drift apart by more than a second
// (NTP step, suspend), so timestamps stay close to wall time and fine-grained.
let anchorWallNs = 0n;
let anchorHr = 0n;
let lastNs = 0n;

function reanchor(): void {
  anchorHr = process.hrtime.bigint();
  anchorWallNs = BigInt(Date.now()) * 1_000_000n;
}
reanchor();

/**
 * The current wall-clock time in nanoseconds since the epoch. Never goes backwards within this
 * process, so a log written by one writer is ordered by time, which `since` relies on.
 */
export function nowNs(): bigint {
  let ns = anchorWallNs + (process.hrtime.bigint() - anchorHr);
  const wall = BigInt(Date.now()) * 1_000_000n;
  if (ns - wall > 1_000_000_000n || wall - ns > 1_000_000_000n) {
    reanchor();
    ns = wall;
  }
  if (ns < lastNs) ns = lastNs;
  lastNs = ns;
  return ns;
}

// Formatting the date part is the costly bit and changes once a second: cache it.
let cachedSec = -1;
let cachedPrefix = '';

/** Formats nanoseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`. */
export function formatCriTime(ns: bigint): string {
  const sec = Number(ns / 1_000_000_000n);
  const frac = Number(ns % 1_000_000_000n);
  if (sec !== cachedSec) {
    cachedSec = sec;
    cachedPrefix = new Date(sec * 1000).toISOString().slice(0, 19);
  }
  return `${cachedPrefix}.${String(frac).padStart(9, '0')}Z`;
}

/** A parsed CRI timestamp: milliseconds for a `Date`, and the nanoseconds within the second. */
export interface CriTime {
  /** Milliseconds since the epoch, rounded down. */
  ms: number;
  /** Nanoseconds since the epoch, exact. */
  ns: bigint;
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Parses an RFC 3339 timestamp with up to nine fractional digits and any offset (kubelet, conmon
 * and containerd all write UTC, but the format allows offsets). Returns null when it is not one.
 */
export function parseCriTime(text: string): CriTime | null {
  const m = rfc3339.exec(text);
  if (!m) return null;
  let secs = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) / 1000;
  if (Number.isNaN(secs)) return null;
  const zone = m[8]!;
  if (zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    secs -= sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
  }
  const frac = Number((m[7] ?? '').padEnd(9, '0'));
  const ns = BigInt(secs) * 1_000_000_000n + BigInt(frac);
  return { ms: secs * 1000 + Math.floor(frac / 1_000_000), ns };
}
