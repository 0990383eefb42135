import { TaskioError } from '../errors.js';

/**
 * Sizes and durations for people, as docker's `go-units` package writes and reads them, so
 * `taskio` prints and accepts the same text as `docker`: `512m`, `1.5GiB`, `About an hour`.
 */

const binaryUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];
const decimalUnits = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const multipliers = (base: number): Record<string, number> => ({ '': 1, k: base, m: base ** 2, g: base ** 3, t: base ** 4, p: base ** 5 });
const binaryMultipliers = multipliers(1024);
const decimalMultipliers = multipliers(1000);
const sizeText = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i;

/** go-units' `parseSize`: the text's number times its unit's multiplier, a fraction of a byte dropped. */
function parseSize(value: string, multiplier: Record<string, number>): number {
  const m = sizeText.exec(value);
  const bytes = m ? Math.trunc(Number(m[1]) * multiplier[(m[2] ?? '').toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(bytes)) throw new TaskioError('ERR_INVALID_SIZE', `invalid size: '${value}'`);
  return bytes;
}

/**
 * Reads an amount of memory as docker's `RAMInBytes` does: a decimal number, an optional space, an
 * optional unit `k`/`m`/`g`/`t`/`p` (powers of 1024, any case), an optional `i` and an optional `b`
 * — `512m`, `1g`, `100k`, `1024b`, `1.5GiB`. A fraction of a byte is dropped.
 * @throws TaskioError `ERR_INVALID_SIZE` (`invalid size: '<value>'`).
 */
export function ramInBytes(value: string): number {
  return parseSize(value, binaryMultipliers);
}

/**
 * Reads a size as docker's and podman's `--log-opt max-size` do (go-units' `FromHumanSize`): the
 * text of {@link ramInBytes}, but every unit a power of 1000 — `10m` is 10,000,000 bytes, and so
 * is `10MiB` (the `i` is read past, as go-units does).
 * @throws TaskioError `ERR_INVALID_SIZE` (`invalid size: '<value>'`).
 */
export function fromHumanSize(value: string): number {
  return parseSize(value, decimalMultipliers);
}

/** Divides `size` by `base` until it is below `base`, as go-units' `getSizeAndUnit`. */
function scale(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  while (size >= base && i < units.length - 1) {
    size /= base;
    i++;
  }
  return [size, units[i]!];
}

/** Memory as `docker stats` prints it (go-units' `BytesSize`): `1.5MiB`, `512KiB`, `0B`. */
export function bytesSize(size: number): string {
  const [n, unit] = scale(size, 1024, binaryUnits);
  return formatG(n, 4) + unit;
}

/**
 * A decimal size as `docker stats` prints network and block I/O (go-units'
 * `HumanSizeWithPrecision`): `1.23kB`, `45.6MB`, `0B`.
 */
export function humanSize(size: number, precision = 3): string {
  const [n, unit] = scale(size, 1000, decimalUnits);
  return formatG(n, precision) + unit;
}

/**
 * Go's `%.<precision>g` for a finite number: `precision` significant digits rounded half to even,
 * trailing zeros dropped, exponent form (`1e+03`) when the exponent is below -4 or reaches
 * `precision`. JavaScript's `toPrecision` differs in both the tie rule and the exponent form.
 */
export function formatG(x: number, precision: number): string {
  if (x === 0) return '0';
  const sign = x < 0 ? '-' : '';
  // 100 significant digits hold the exact decimal value of any double this is used for.
  const [mantissa, e] = Math.abs(x).toExponential(99).split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  let exp = Number(e);
  let head = digits.slice(0, precision);
  const rest = digits.slice(precision);
  const tie = /^50*$/.test(rest);
  if (rest[0]! > '5' || (rest[0] === '5' && !tie) || (tie && Number(head.at(-1)) % 2 === 1)) {
    const up = (BigInt(head) + 1n).toString();
    if (up.length > head.length) exp++;
    head = up.slice(0, precision);
  }
  head = head.replace(/0+$/, '') || '0';
  if (exp < -4 || exp >= precision) {
    const frac = head.slice(1);
    const e2 = String(Math.abs(exp)).padStart(2, '0');
    return `${sign}${head[0]}${frac ? `.${frac}` : ''}e${exp < 0 ? '-' : '+'}${e2}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${head}`;
  const int = head.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = head.slice(exp + 1);
  return `${sign}${int}${frac ? `.${frac}` : ''}`;
}

/**
 * A duration for people, as go-units' `HumanDuration` (what `docker ps` shows after `Up` and
 * before `ago`): `Less than a second`, `3 seconds`, `About a minute`, `5 minutes`,
 * `About an hour`, `3 hours`, `2 days`, `3 weeks`, `4 months`, `2 years`.
 * @param ms - the duration in milliseconds; a negative one (clock skew) reads as less than a second.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  // Hours round to the nearest, as go-units does; the larger units count whole hours from there.
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}
