import { criTimeMs } from './criTime.js';
import type { LogStreamName } from './options.js';

/** One CRI log entry taken apart. */
export interface CriEntry {
  /** The timestamp as written (RFC 3339, nanoseconds). */
  timestamp: string;
  /** The timestamp in milliseconds since the epoch (rounded down). */
  ms: number;
  stream: LogStreamName;
  /** True for a `P` entry: the line goes on in the next entry of the same stream. */
  partial: boolean;
  /** The content bytes, without the trailing newline (a copy, safe to keep). */
  content: Buffer;
}

const SPACE = 0x20;

/**
 * Parses one CRI entry (`<time> <stream> <tags> <content>`, the newline already removed). The tags
 * field may carry more than `P`/`F` after a `:` (kubelet reserves that); only the first tag counts.
 * Returns null for a line that is not a CRI entry.
 */
export function parseCriEntry(line: Buffer): CriEntry | null {
  const a = line.indexOf(SPACE);
  if (a < 0) return null;
  const b = line.indexOf(SPACE, a + 1);
  if (b < 0) return null;
  let c = line.indexOf(SPACE, b + 1);
  if (c < 0) c = line.length;
  // Read off the bytes: a string per field per line was a good part of a reader's CPU.
  const stream = b - a === 7 ? streamAt(line, a + 1) : null;
  if (stream === null) return null;
  const tag = line[b + 1];
  if ((tag !== 0x50 && tag !== 0x46) || (c !== b + 2 && line[b + 2] !== 0x3a /* ':' */)) return null;
  const timestamp = line.toString('latin1', 0, a);
  const ms = criTimeMs(timestamp);
  if (ms === null) return null;
  return {
    timestamp,
    ms,
    stream,
    partial: tag === 0x50,
    content: Buffer.from(line.subarray(Math.min(c + 1, line.length))),
  };
}

/** `stdout` or `stderr` at `at` in `line` (six bytes), else null. */
export function streamAt(line: Buffer, at: number): LogStreamName | null {
  // "std" then "out" or "err"
  if (line[at] !== 0x73 || line[at + 1] !== 0x74 || line[at + 2] !== 0x64) return null;
  const x = line[at + 3], y = line[at + 4], z = line[at + 5];
  if (x === 0x6f && y === 0x75 && z === 0x74) return 'stdout';
  if (x === 0x65 && y === 0x72 && z === 0x72) return 'stderr';
  return null;
}
