import { TaskioError } from '../errors.js';

/** Nanoseconds per unit of a Go duration (`time.ParseDuration`). */
const durationUnits: Record<string, bigint> = {
  ns: 1n, us: 1_000n, 'µs': 1_000n, 'μs': 1_000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n,
};
const durationPart = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Reads a Go duration (`10m`, `1h30m`, `1.5h`, `300ms`, `-5s`) into nanoseconds, as
 * `time.ParseDuration`; `undefined` when the text is not one. `0` is a duration; a bare number is not.
 */
export function parseGoDuration(value: string): bigint | undefined {
  let s = value;
  let negative = false;
  if (s[0] === '-' || s[0] === '+') {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') return undefined;
  let total = 0n;
  durationPart.lastIndex = 0;
  while (durationPart.lastIndex < s.length) {
    const m = durationPart.exec(s);
    if (!m) return undefined;
    const [whole = '', frac = ''] = m[1]!.split('.');
    const unit = durationUnits[m[2]!]!;
    // Whole part exactly, fraction scaled to the unit and truncated, as Go does.
    total += BigInt(whole || '0') * unit + (frac ? (BigInt(frac) * unit) / 10n ** BigInt(frac.length) : 0n);
  }
  return negative ? -total : total;
}

const timestamp = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?(Z|[+-]\d{2}:\d{2})?$/;
const daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Seconds since the epoch of an RFC 3339-like timestamp, `undefined` if it is not one or out of range. */
function timestampSeconds(value: string): { seconds: bigint; nanos: string } | undefined {
  const m = timestamp.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const maxDay = month === 2 && !leap ? 28 : daysInMonth[month - 1];
  if (maxDay === undefined || day < 1 || day > maxDay || hour > 23 || minute > 59 || second > 59) return undefined;
  let ms: number;
  if (zone === undefined) {
    // No zone: the local time of this machine, as docker reads `2006-01-02T15:04:05`.
    ms = new Date(year, month - 1, day, hour, minute, second).getTime();
  } else {
    const offset = zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    ms = Date.UTC(year, month - 1, day, hour, minute, second) - offset * 60_000;
  }
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: frac.padEnd(9, '0') };
}

/**
 * Reads a `--since` value as `docker logs` does (moby's `GetTimestamp`): a Go duration before
 * `now` (`10m`, `1h30m`; whole seconds, as docker), an RFC 3339 timestamp with or without a
 * zone and with any precision from the date to nanoseconds (`2024-05-01`, `2024-05-01T10:00`,
 * `2024-05-01T10:00:00.5+02:00`; local time when no zone is given), or a Unix timestamp
 * (`1714557600`, `1714557600.000000001`).
 * @returns the moment as docker's API writes it: `<seconds>.<9 digits of nanoseconds>`.
 * @throws TaskioError `ERR_INVALID_TIME` naming the value.
 */
export function parseSince(value: string, now: Date = new Date()): string {
  const moment = parseMoment(value, now);
  if (moment === undefined) throw new TaskioError('ERR_INVALID_TIME', `failed to parse value as time or duration: ${JSON.stringify(value)}`);
  // A moment a `Date` cannot hold (±275,000 years) would fail later with "Invalid time value", unnamed.
  if (moment.seconds < -maxDateSeconds || moment.seconds > maxDateSeconds) {
    throw new TaskioError('ERR_INVALID_TIME', `time ${JSON.stringify(value)} is out of range (more than 275,000 years from 1970)`);
  }
  return `${moment.seconds}.${moment.nanos}`;
}

/** The furthest second from the epoch a `Date` holds. */
const maxDateSeconds = 8_640_000_000_000n;

function parseMoment(value: string, now: Date): { seconds: bigint; nanos: string } | undefined {
  const d = value === '0' ? undefined : parseGoDuration(value);
  if (d !== undefined) {
    const ns = BigInt(now.getTime()) * 1_000_000n - d;
    // Floor division, so a moment before 1970 still rounds towards the past as Go's Unix() does.
    const seconds = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
    return { seconds, nanos: '000000000' };
  }
  const t = timestampSeconds(value);
  if (t) return t;
  const unix = /^(\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (unix) return { seconds: BigInt(unix[1]!), nanos: (unix[2] ?? '').padEnd(9, '0') };
  return undefined;
}

/** `<seconds>.<nanoseconds>` (what {@link parseSince} gives) as a `Date`, to the millisecond below. */
export function sinceDate(moment: string): Date {
  const [seconds = '0', nanos = '0'] = moment.split('.');
  return new Date(Number(seconds) * 1000 + Math.floor(Number(nanos) / 1e6));
}

/**
 * `<seconds>.<nanoseconds>` (what {@link parseSince} gives) as the daemon's API takes it, to the
 * nanosecond: as it is (Unix seconds, what docker's CLI sends), or before 1970 as an RFC 3339 time
 * in UTC (the API's Unix seconds have no sign).
 */
export function sinceTimestamp(moment: string): string {
  if (!moment.startsWith('-')) return moment;
  const [seconds = '0', nanos = '000000000'] = moment.split('.');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, -5)}.${nanos}Z`;
}
