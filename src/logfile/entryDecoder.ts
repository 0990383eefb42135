import { parseCriEntry } from './criParse.js';
import type { LogEntry } from './followLog.js';
import { maxMaxLineSize, type LogFormat, type LogStreamName } from './options.js';

/** A line being joined from `P` entries (reassembly). */
interface Joining {
  first: LogEntry;
  parts: Buffer[];
  bytes: number;
}

/** The longest line reassembly joins before it hands the line out in pieces (memory stays bounded). */
export const maxReassembled = 1 << 20;

/**
 * The longest CRI line taken as an entry (without its newline): the longest entry a writer makes
 * ({@link maxMaxLineSize} of content) and room for its header. A longer line is no entry: it is
 * skipped as other lines that are not entries are, and only its length is kept while it is read.
 */
export const maxEntryLine = maxMaxLineSize + 4096;

const newline = Buffer.from('\n');

/**
 * Turns the bytes of a log, read in chunks of any size, into {@link LogEntry}s: a raw chunk is one
 * entry; CRI bytes are cut into lines (an unfinished last line waits for the next chunk), parsed,
 * filtered by `sinceMs`, and — with `reassemble` — `P` entries are joined with their `F` per stream.
 * Lines that are not CRI entries are skipped, and so are lines longer than `maxLine`.
 *
 * A line that spans chunks is kept as copies of its pieces and joined once, when it ends, so each
 * byte is copied at most twice however long the line is.
 */
export class EntryDecoder {
  /** The unfinished last line: copies of its pieces. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  /** The unfinished last line is longer than `maxLine`: it is dropped up to its newline. */
  #skipping = false;
  #copied = 0;
  readonly #joining = new Map<LogStreamName, Joining>();
  /** Streams whose line went past {@link maxReassembled} and was handed out in part: it goes on. */
  readonly #continuing = new Set<LogStreamName>();

  constructor(
    readonly format: LogFormat,
    readonly sinceMs: number | undefined,
    readonly reassemble: boolean,
    readonly maxLine = maxEntryLine,
  ) {}

  /** The bytes copied so far to keep and join lines (for tests: at most twice what was pushed). @internal */
  get copied(): number {
    return this.#copied;
  }

  /** The entries that `data` completes. `data` may be reused by the caller afterwards. */
  push(data: Buffer): LogEntry[] {
    if (this.format === 'raw') {
      return data.length > 0 ? [{ time: new Date(), timestamp: '', stream: null, partial: false, content: Buffer.from(data) }] : [];
    }
    const out: LogEntry[] = [];
    const first = data.indexOf(0x0a);
    if (first < 0) {
      this.#hold(data);
      return out;
    }
    let from = 0;
    if (this.#heldBytes > 0 || this.#skipping) {
      from = first + 1;
      this.#endHeld(data.subarray(0, from), out);
    }
    const last = data.lastIndexOf(0x0a);
    this.#lines(data.subarray(from, last + 1), out);
    this.#hold(data.subarray(last + 1));
    return out;
  }

  /** The end of one file: a last line without its newline (a crash mid-entry) is an entry too. */
  endOfFile(): LogEntry[] {
    const out: LogEntry[] = [];
    if (this.#heldBytes > 0 || this.#skipping) this.#endHeld(newline, out);
    return out;
  }

  /** The end of reading: lines still being joined are handed out as they are (`partial: true`). */
  end(): LogEntry[] {
    const out = this.endOfFile();
    for (const j of this.#joining.values()) out.push({ ...j.first, partial: true, content: Buffer.concat(j.parts) });
    this.#joining.clear();
    return out;
  }

  /** Keeps a copy of the bytes of the unfinished last line; past `maxLine`, only that it is too long. */
  #hold(bytes: Buffer): void {
    if (bytes.length === 0 || this.#skipping) return;
    this.#heldBytes += bytes.length;
    if (this.#heldBytes > this.maxLine) {
      this.#held = [];
      this.#heldBytes = 0;
      this.#skipping = true;
      return;
    }
    this.#held.push(Buffer.from(bytes)); // a copy: `bytes` is the caller's read buffer
    this.#copied += bytes.length;
  }

  /** Ends the held line with `tail` (its last bytes, up to its newline) and parses it. */
  #endHeld(tail: Buffer, out: LogEntry[]): void {
    const parts = this.#held;
    const skip = this.#skipping;
    this.#held = [];
    this.#heldBytes = 0;
    this.#skipping = false;
    if (skip) return;
    const line = Buffer.concat([...parts, tail]);
    this.#copied += line.length;
    this.#lines(line, out);
  }

  /** Parses whole lines (each ending with a newline) into `out`. */
  #lines(lines: Buffer, out: LogEntry[]): void {
    for (let pos = 0; pos < lines.length;) {
      const nl = lines.indexOf(0x0a, pos);
      const e = nl - pos > this.maxLine ? null : parseCriEntry(lines.subarray(pos, nl));
      pos = nl + 1;
      if (!e || (this.sinceMs !== undefined && e.ms < this.sinceMs)) continue;
      const entry: LogEntry = { time: new Date(e.ms), timestamp: e.timestamp, stream: e.stream, partial: e.partial, content: e.content };
      if (this.reassemble) this.#join(entry, out);
      else out.push(entry);
    }
  }

  #join(entry: LogEntry, out: LogEntry[]): void {
    const stream = entry.stream!;
    const j = this.#joining.get(stream);
    // The rest of a line handed out in part is marked, so that only its first piece is stamped.
    if (!j && this.#continuing.has(stream)) entry = { ...entry, continued: true };
    if (!entry.partial) this.#continuing.delete(stream);
    if (!j && !entry.partial) {
      out.push(entry);
    } else if (!j) {
      this.#joining.set(stream, { first: entry, parts: [entry.content], bytes: entry.content.length });
    } else {
      j.parts.push(entry.content);
      j.bytes += entry.content.length;
      if (!entry.partial || j.bytes >= maxReassembled) {
        this.#joining.delete(stream);
        if (entry.partial) this.#continuing.add(stream);
        out.push({ ...j.first, partial: entry.partial, content: Buffer.concat(j.parts) });
      }
    }
  }
}
