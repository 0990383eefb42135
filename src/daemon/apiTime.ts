import { timeExists } from '../logfile/criTime.js';

/**
 * A time in a request, as docker's API takes them: RFC 3339 (`2026-12-05T06:40:00.123456789Z`, a
 * space or lower-case `t`/`z` allowed, an offset instead of `Z`) or, where `unixSeconds` allows it,
 * Unix seconds with an optional fraction (`1764916800.5`, what docker's CLI sends). Null for
 * anything else: `Date`'s own parser took "2020", "March 7" or "1 2 3", and rolled February 30 over
 * into March.
 */
export function parseApiTime(raw: string, opts: { unixSeconds: boolean }): Date | null {
  const ns = parseApiTimeNs(raw, opts);
  return ns === null ? null : new Date(nsToMs(ns));
}

/**
 * {@link parseApiTime} to the nanosecond, as nanoseconds since the epoch: a log's `since` and
 * `until` are compared with its entries' CRI times, which have nanoseconds (as docker's Go times).
 * Digits past the ninth are dropped. Null also for a moment a `Date` cannot hold.
 */
export function parseApiTimeNs(raw: string, { unixSeconds }: { unixSeconds: boolean }): bigint | null {
  const unix = unixSeconds ? /^(\d+)(?:\.(\d+))?$/.exec(raw) : null;
  if (unix) return inRange(BigInt(unix[1]!) * 1000n, unix[2]);
  const m = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)$/.exec(raw);
  // The time as written must exist, as the CRI reader checks its own (the offset is checked by Date).
  if (m === null || !timeExists(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) return null;
  // Date reads the whole seconds (and the offset); the fraction is added to the nanosecond.
  const seconds = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8]!.toUpperCase()}`).getTime();
  return Number.isNaN(seconds) ? null : inRange(BigInt(seconds), m[7]);
}

/** Epoch milliseconds of whole seconds `ms` plus fraction digits `frac` as nanoseconds; null past what a `Date` holds. */
function inRange(ms: bigint, frac: string | undefined): bigint | null {
  if (ms > maxDateMs || ms < -maxDateMs) return null;
  return ms * 1_000_000n + BigInt((frac ?? '').slice(0, 9).padEnd(9, '0'));
}

/** The furthest millisecond from the epoch a `Date` holds. */
const maxDateMs = 8_640_000_000_000_000n;

/** Nanoseconds since the epoch as milliseconds, rounded down (towards the past, before 1970 too). */
export function nsToMs(ns: bigint): number {
  const ms = ns / 1_000_000n;
  return Number(ns < 0n && ms * 1_000_000n !== ns ? ms - 1n : ms);
}
