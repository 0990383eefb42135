/** An OCI `process.rlimits` entry; {@link RLIM_INFINITY} stands for unlimited until {@link ociJson} writes it. */
export interface OciRlimit {
  type: string;
  soft: number;
  hard: number;
}

/** The kernel's `RLIM_INFINITY` (2⁶⁴−1), beyond a JS number's exact range: kept as -1 here, written exactly by {@link ociJson}. */
export const RLIM_INFINITY = -1;
const infinityText = '18446744073709551615';

/** Whether a limit is unlimited: {@link RLIM_INFINITY}, or 2⁶⁴−1 as a config.json read back holds it (about 1.8e19). */
export function isUnlimited(limit: number): boolean {
  return limit === RLIM_INFINITY || limit >= 2 ** 63;
}

/**
 * JSON of an OCI spec or process for runsc and runc: a limit that is unlimited (-1, or read back from
 * a config.json as 2⁶⁴−1, which a JS number holds only approximately) is written as 2⁶⁴−1 exactly,
 * where plain JSON.stringify would write a number Go cannot read into a uint64.
 */
export function ociJson(value: unknown, indent?: number): string {
  const marker = '\u0000rlim-infinity';
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const inRlimit = (key === 'soft' || key === 'hard') && typeof this['type'] === 'string' && this['type'].startsWith('RLIMIT_');
    return inRlimit && typeof v === 'number' && isUnlimited(v) ? marker : v;
  }, indent);
  return text.replaceAll(JSON.stringify(marker), infinityText);
}
