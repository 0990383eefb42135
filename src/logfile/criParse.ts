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
export function parseCriEntry(line: Uint8Array): CriEntry | null {
  const a = line.indexOf(SPACE);
  if (a < 0) return null;
  const b = line.indexOf(SPACE, a + 1);
  if (b < 0) return null;
  let c = line.indexOf(SPACE, b + 1);
  if (c < 0) c = line.length;
  const latin1 = (s: number, e: number): string => Buffer.from(line.buffer, line.byteOffset + s, e - s).toString('latin1');
  const stream = latin1(a + 1, b);
  if (stream !== 'stdout' && stream !== 'stderr') return null;
  const tag = line[b + 1];
  if ((tag !== 0x50 && tag !== 0x46) || (c !== b + 2 && line[b + 2] !== 0x3a /* ':' */)) return null;
  const timestamp = latin1(0, a);
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
