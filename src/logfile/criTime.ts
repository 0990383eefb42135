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

const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether `y-mo-d h:mi:s` is a time that exists (as Go's `time.Parse` checks; no leap second). */
export function timeExists(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= daysInMonth[mo - 1]! + (leap ? 1 : 0);
}

/**
 * Parses an RFC 3339 timestamp with up to nine fractional digits and any offset (kubelet, conmon
 * and containerd all write UTC, but the format allows offsets). Returns null when it is not one,
 * including a time that does not exist (`02-31`, `25:61`, an offset past `23:59`): kubelet's
 * `time.Parse` refuses those and skips the line, where `Date.UTC` would roll them over.
 */
export function parseCriTime(text: string): CriTime | null {
  const m = rfc3339.exec(text);
  if (!m) return null;
  const y = +m[1]!, mo = +m[2]!, d = +m[3]!, h = +m[4]!, mi = +m[5]!, s = +m[6]!;
  if (!timeExists(y, mo, d, h, mi, s)) return null;
  // Date.UTC takes years 0–99 for 1900–1999; setUTCFullYear takes every year as it is.
  let secs = new Date(0).setUTCFullYear(y, mo - 1, d) / 1000 + h * 3600 + mi * 60 + s;
  const zone = m[8]!;
  if (zone !== 'Z') {
    const zh = Number(zone.slice(1, 3)), zm = Number(zone.slice(4, 6));
    if (zh > 23 || zm > 59) return null;
    secs -= (zone[0] === '-' ? -1 : 1) * (zh * 3600 + zm * 60);
  }
  const frac = Number((m[7] ?? '').padEnd(9, '0'));
  const ns = BigInt(secs) * 1_000_000_000n + BigInt(frac);
  return { ms: secs * 1000 + Math.floor(frac / 1_000_000), ns };
}

// The seconds of the last timestamp criTimeMs parsed in full: a log's entries come many to a second.
let lastSecondText = '\0'; // matches no timestamp until one was parsed
let lastSecondMs = 0;

/**
 * {@link parseCriTime}'s milliseconds, fast for what the CRI writers write: `…:SSZ` with nine
 * fractional digits in UTC (kubelet's, containerd's, conmon's and taskio's form). When the text up
 * to the seconds is the last such one's, only the fraction is read; any other text goes through
 * the full parse. Reading a log decodes every entry's time, and the full parse (a regular
 * expression, a calendar check and BigInt nanoseconds) was most of a reader's CPU on short lines.
 */
export function criTimeMs(text: string): number | null {
  const writerForm = text.length === 30 && text.charCodeAt(29) === 0x5a /* Z */ && text.charCodeAt(19) === 0x2e /* . */;
  if (writerForm && text.startsWith(lastSecondText)) {
    let ms = 0;
    for (let i = 20; i < 29; i++) {
      const d = text.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) return parseCriTime(text)?.ms ?? null;
      if (i < 23) ms = ms * 10 + d;
    }
    return lastSecondMs + ms;
  }
  const t = parseCriTime(text);
  if (t !== null && writerForm) {
    lastSecondText = text.slice(0, 19);
    lastSecondMs = t.ms - (t.ms % 1000 + 1000) % 1000;
  }
  return t?.ms ?? null;
}
