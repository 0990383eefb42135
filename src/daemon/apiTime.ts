import { timeExists } from '../logfile/criTime.js';

/**
 * A time in a request, as docker's API takes them: RFC 3339 (`2026-12-05T06:40:00.123456789Z`, a
 * space or lower-case `t`/`z` allowed, an offset instead of `Z`) or, where `unixSeconds` allows it,
 * Unix seconds with an optional fraction (`1764916800.5`, what docker's CLI sends). Null for
 * anything else: `Date`'s own parser took "2020", "March 7" or "1 2 3", and rolled February 30 over
 * into March.
 */
export function parseApiTime(raw: string, { unixSeconds }: { unixSeconds: boolean }): Date | null {
  if (unixSeconds && /^\d+(\.\d+)?$/.test(raw)) return checked(new Date(Number(raw) * 1000));
  const m = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/.exec(raw);
  // The time as written must exist, as the CRI reader checks its own (the offset is checked by Date).
  if (m === null || !timeExists(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!)) return null;
  return checked(new Date(raw.replace(' ', 'T')));
}

function checked(d: Date): Date | null {
  return Number.isNaN(d.getTime()) ? null : d;
}
