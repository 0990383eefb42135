import fs from 'node:fs';
import { promisify } from 'node:util';
import type { OpenLogFile } from './logFileSet.js';
import type { LogStart } from './logStart.js';
import type { LogStreamName } from './options.js';
import { streamAt } from './criParse.js';

const read = promisify(fs.read);

/** Bytes of an entry's start that hold its time, stream and tag (a time with a zone offset is 35). */
const headSize = 96;

/**
 * Counts lines back from the end of a CRI log's `files` (open, newest first) and finds where the
 * last `tail` of them begin (`tail` ≥ 1). A line is the `F` entry that ends it and the `P` entries of
 * its stream before it: a line cut into `P` entries (a long line, or the quiet-line rule's prompt)
 * counts once and comes whole, as podman fixed its `--tail` for (podman#1601, #19545). `P` entries
 * after the last `F` of their stream (a line still being written) come with the last lines, uncounted.
 *
 * The start is the first entry of the earliest line wanted; entries of the other stream written
 * between two entries of a wanted line come along (`stdout P`, `stderr F`, `stdout F`: one stdout
 * line asked for, all three come), none that lie before. As in `findTail`, the bytes after the
 * newest file's last newline are an entry still being written, and an older file's end ends its
 * last entry. Null when there is no file.
 */
export async function findTailLines(files: OpenLogFile[], tail: number): Promise<LogStart | null> {
  const buf = Buffer.allocUnsafe(64 * 1024);
  const lines = new TailLines(tail);
  let start: LogStart | null = null;
  for (const [k, file] of files.entries()) {
    // The end of the entry whose start is being looked for (past its newline); null: none yet.
    let entryEnd: number | null = k > 0 && file.size > 0 ? file.size : null;
    let end = file.size;
    while (end > 0) {
      const n = Math.min(buf.length, end);
      const { bytesRead } = await read(file.fd, buf, 0, n, end - n);
      const base = end - n;
      // Down to -1 at the file's start: its first entry begins there as if after a newline.
      for (let i = bytesRead - 1; i >= (base === 0 ? -1 : 0); i--) {
        if (i >= 0 && buf[i] !== 0x0a) continue;
        // An older file ending in a newline: its last entry ends there, as `entryEnd` says already.
        if (entryEnd !== null && base + i + 1 < entryEnd) {
          const seen = lines.see(await headAt(file, buf, base, bytesRead, base + i + 1));
          if (seen === 'stop') return start;
          if (seen === 'wanted') start = { file, offset: base + i + 1 };
        }
        entryEnd = base + i + 1;
      }
      end = base;
    }
  }
  const oldest = files[files.length - 1];
  // Fewer lines than asked for: all of them (and whatever is no entry among them).
  return lines.short ? (oldest ? { file: oldest, offset: 0 } : null) : start;
}

/** An entry's stream and whether it is a `P` entry; null for a line that is no CRI entry. */
interface EntryHead {
  stream: LogStreamName;
  partial: boolean;
}

/**
 * The rule of {@link findTailLines}, fed the entries from the newest back: an `F` counted per line
 * until there are `tail`; per stream, whether a counted line may still have `P` entries further back
 * (open until the stream's `F` before it), and whether an `F` came yet (a `P` after the last one is a
 * line being written). Done once the lines are counted and none is open.
 */
class TailLines {
  #counted = 0;
  readonly #open = new Set<LogStreamName>();
  readonly #ended = new Set<LogStreamName>();
  readonly #tail: number;

  constructor(tail: number) {
    this.#tail = tail;
  }

  /** Whether fewer lines than asked for were seen. */
  get short(): boolean {
    return this.#counted < this.#tail;
  }

  /** The entry is part of a wanted line, of none (`skip`), or the end of the line before the wanted (`stop`). */
  see(head: EntryHead | null): 'wanted' | 'skip' | 'stop' {
    // A line that is no entry (damage) belongs to no line: it comes only if it lies after the start.
    if (head === null) return 'skip';
    const { stream } = head;
    if (head.partial) return this.#open.has(stream) || !this.#ended.has(stream) ? 'wanted' : 'skip';
    this.#ended.add(stream);
    if (this.#counted < this.#tail) {
      this.#counted++;
      this.#open.add(stream);
      return 'wanted';
    }
    this.#open.delete(stream);
    return this.#open.size === 0 ? 'stop' : 'skip';
  }
}

/** The head of the entry that begins at file offset `at`, from `buf` (holding `base`…) or read. */
async function headAt(file: OpenLogFile, buf: Buffer, base: number, bytesRead: number, at: number): Promise<EntryHead | null> {
  const from = at - base;
  if (from + headSize <= bytesRead || base + bytesRead >= file.size) return parseHead(buf.subarray(from, bytesRead));
  const head = Buffer.allocUnsafe(headSize);
  const { bytesRead: got } = await read(file.fd, head, 0, headSize, at);
  return parseHead(head.subarray(0, got));
}

/** `<time> <stream> <tags>`: the stream and whether the first tag is `P`. */
function parseHead(b: Buffer): EntryHead | null {
  const a = b.indexOf(0x20);
  if (a < 0 || b[a + 7] !== 0x20) return null;
  const stream = streamAt(b, a + 1);
  const tag = b[a + 8];
  return stream !== null && (tag === 0x50 || tag === 0x46) ? { stream, partial: tag === 0x50 } : null;
}
