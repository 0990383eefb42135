/**
 * A time in a request, as docker's API takes them: RFC 3339 (`2026-12-05T06:40:00.123456789Z`, a
 * space or lower-case `t`/`z` allowed, an offset instead of `Z`) or, where `unixSeconds` allows it,
 * Unix seconds with an optional fraction (`1764916800.5`, what docker's CLI sends). Null for
 * anything else: `Date`'s own parser took "2020", "March 7" or "1 2 3", and rolled February 30 over
 * into March.
 */
export function parseApiTime(raw: string, { unixSeconds }: { unixSeconds: boolean }): Date | null {
  if (unixSeconds && /^\d+(\.\d+)?$/.test(raw)) return checked(new Date(Number(raw) * 1000));
  const m = /^(\d{4})-(\d\d)-(\d\d)[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/.exec(raw);
  if (m === null) return null;
  // The calendar day as written must exist: the hour and the offset are checked by Date itself.
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return checked(new Date(raw.replace(' ', 'T')));
}

function checked(d: Date): Date | null {
  return Number.isNaN(d.getTime()) ? null : d;
}
