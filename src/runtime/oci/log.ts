import fs from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';

/**
 * Reading the runtime's `--log-format=json` log. Both runtimes append one JSON object per entry;
 * runsc omits the newline between entries, so entries are split by brace depth, not by line.
 */

/** The size of the log now: where this call's entries will begin. 0 when it does not exist yet. */
export async function logOffset(path: string): Promise<number> {
  try {
    return (await fs.stat(path)).size;
  } catch {
    return 0;
  }
}

/** Splits concatenated JSON objects (`{..}{..}` or one per line); text that does not parse is skipped. */
export function parseLogEntries(text: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  let depth = 0, start = -1, inString = false, escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = depth > 0;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        try {
          const v: unknown = JSON.parse(text.slice(start, i + 1));
          if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v as Record<string, unknown>);
        } catch {
          // A torn or foreign entry: the ones around it still count.
        }
      }
    }
  }
  return out;
}

/**
 * The `msg` of the last error entry appended since `offset`, or '' when there is none. Calls that
 * share a log file concurrently may see each other's entries; the last error is still the best guess.
 */
export async function lastLogError(path: string, offset: number): Promise<string> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    const { size } = await fh.stat();
    // A log truncated or rotated behind our back: read it whole rather than nothing.
    const from = size >= offset ? offset : 0;
    const buf = Buffer.alloc(size - from);
    await fh.read(buf, 0, buf.length, from);
    const entries = parseLogEntries(buf.toString('utf8'));
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if ((e.level === 'error' || e.level === 'fatal') && typeof e.msg === 'string') return e.msg;
    }
    return '';
  } catch {
    return '';
  } finally {
    await fh?.close();
  }
}
