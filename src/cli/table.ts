/**
 * Tables as docker prints them (`docker ps`, `docker stats`): docker's tabwriter with a minimum
 * column width of 10 and 3 spaces of padding, left-aligned, the last column unpadded.
 */

/** East Asian wide and fullwidth ranges (and the emoji blocks), two cells each in a terminal. */
const wide: Array<[number, number]> = [
  [0x1100, 0x115f], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf], [0x4e00, 0x9fff],
  [0xa000, 0xa4cf], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe30, 0xfe4f], [0xff00, 0xff60],
  [0xffe0, 0xffe6], [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x20000, 0x3fffd],
];
const zeroWidth = /[\p{Mn}\p{Me}\p{Cc}\u200b-\u200f]/u;

/** The cells one character takes in a terminal: 0 (combining, control), 1, or 2 (wide). */
function charWidth(ch: string): number {
  if (zeroWidth.test(ch)) return 0;
  const cp = ch.codePointAt(0)!;
  return wide.some(([lo, hi]) => cp >= lo && cp <= hi) ? 2 : 1;
}

/** The cells a string takes in a terminal (a compact version of go-runewidth, which docker uses). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch);
  return w;
}

/**
 * Cuts `s` to at most `max` cells, ending in `…` when cut (docker's `Ellipsis`, used for the
 * COMMAND column of `ps`).
 */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  if (displayWidth(s) <= max) return s;
  const chars = [...s];
  if (max === 1) return chars[0] ?? '';
  let out = '';
  let w = 0;
  for (const ch of chars) {
    const cw = charWidth(ch);
    if (w + cw > max - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/** docker's table layout: `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`. */
const minWidth = 10;
const padding = 3;

/**
 * Lays out a header row and rows as docker does: each column but the last as wide as its widest
 * cell plus 3 spaces (at least 10), cells left-aligned, one line per row ending in `\n`.
 */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const lines = [header, ...rows];
  const widths: number[] = [];
  for (const line of lines) {
    line.forEach((cell, i) => {
      if (i < line.length - 1) widths[i] = Math.max(widths[i] ?? minWidth, displayWidth(cell) + padding);
    });
  }
  return lines.map((line) => line.map((cell, i) => (i < line.length - 1 ? cell + ' '.repeat(widths[i]! - displayWidth(cell)) : cell)).join('')).join('\n') + '\n';
}
