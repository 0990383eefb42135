import { parseCriEntry } from './criParse.js';
import type { LogEntry } from './followLog.js';
import type { LogFormat, LogStreamName } from './options.js';

/** A line being joined from `P` entries (reassembly). */
interface Joining {
  first: LogEntry;
  parts: Buffer[];
  bytes: number;
}

/** The longest line reassembly joins before it hands the line out in pieces (memory stays bounded). */
export const maxReassembled = 1 << 20;

/**
 * Turns the bytes of a log, read in chunks of any size, into {@link LogEntry}s: a raw chunk is one
 * entry; CRI bytes are cut into lines (an unfinished last line waits for the next chunk), parsed,
 * filtered by `sinceMs`, and — with `reassemble` — `P` entries are joined with their `F` per stream.
 * Lines that are not CRI entries are skipped.
 */
export class EntryDecoder {
  #rest: Buffer = Buffer.alloc(0);
  readonly #joining = new Map<LogStreamName, Joining>();

  constructor(readonly format: LogFormat, readonly sinceMs: number | undefined, readonly reassemble: boolean) {}

  /** The entries that `data` completes. `data` may be reused by the caller afterwards. */
  push(data: Buffer): LogEntry[] {
    if (this.format === 'raw') {
      return data.length > 0 ? [{ time: new Date(), timestamp: '', stream: null, partial: false, content: Buffer.from(data) }] : [];
    }
    const all = this.#rest.length > 0 ? Buffer.concat([this.#rest, data]) : data;
    const last = all.lastIndexOf(0x0a);
    // Copied: `data` is the caller's read buffer.
    this.#rest = Buffer.from(all.subarray(last + 1));
    return last >= 0 ? this.#lines(all.subarray(0, last + 1)) : [];
  }

  /** The end of one file: a last line without its newline (a crash mid-entry) is an entry too. */
  endOfFile(): LogEntry[] {
    const rest = this.#rest;
    this.#rest = Buffer.alloc(0);
    return rest.length > 0 ? this.#lines(Buffer.concat([rest, Buffer.from('\n')])) : [];
  }

  /** The end of reading: lines still being joined are handed out as they are (`partial: true`). */
  end(): LogEntry[] {
    const out = this.endOfFile();
    for (const j of this.#joining.values()) out.push({ ...j.first, partial: true, content: Buffer.concat(j.parts) });
    this.#joining.clear();
    return out;
  }

  /** Parses whole lines (each ending with a newline). */
  #lines(lines: Buffer): LogEntry[] {
    const out: LogEntry[] = [];
    for (let pos = 0; pos < lines.length;) {
      const nl = lines.indexOf(0x0a, pos);
      const e = parseCriEntry(lines.subarray(pos, nl));
      pos = nl + 1;
      if (!e || (this.sinceMs !== undefined && e.ms < this.sinceMs)) continue;
      const entry: LogEntry = { time: new Date(e.ms), timestamp: e.timestamp, stream: e.stream, partial: e.partial, content: e.content };
      if (this.reassemble) this.#join(entry, out);
      else out.push(entry);
    }
    return out;
  }

  #join(entry: LogEntry, out: LogEntry[]): void {
    const stream = entry.stream!;
    const j = this.#joining.get(stream);
    if (!j && !entry.partial) {
      out.push(entry);
    } else if (!j) {
      this.#joining.set(stream, { first: entry, parts: [entry.content], bytes: entry.content.length });
    } else {
      j.parts.push(entry.content);
      j.bytes += entry.content.length;
      if (!entry.partial || j.bytes >= maxReassembled) {
        this.#joining.delete(stream);
        out.push({ ...j.first, partial: entry.partial, content: Buffer.concat(j.parts) });
      }
    }
  }
}
