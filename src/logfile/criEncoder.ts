import type { LogStreamName } from './options.js';

const NL = 0x0a, SPACE = 0x20, TAG_P = 0x50, TAG_F = 0x46;

/**
 * Turns one stream's bytes into CRI log entries: `<time> <stream> <P|F> <content>\n`.
 *
 * An entry is cut only where a line grows past `maxLineSize` (`P` pieces, then a final `F`),
 * never where a read happened to end: the unfinished tail of a chunk waits here (at most
 * `maxLineSize` bytes) until its newline arrives. Bytes are copied as they are — no decoding — so
 * invalid UTF-8 and a `\r` before the newline survive untouched. A line of exactly `maxLineSize`
 * bytes is one `F` entry: the writer waits for the next byte before deciding it was partial.
 *
 * split2 is not used here: it decodes to strings (losing invalid UTF-8) and treats an over-long
 * line as an error, where CRI needs byte-exact cutting into `P` entries.
 */
export class CriEncoder {
  private readonly pending: Buffer;
  private pendingLen = 0;
  private header: Buffer = Buffer.alloc(0);
  private out: Buffer = Buffer.alloc(0);
  private pos = 0;

  /**
   * @param stream the stream named in every entry.
   * @param maxLineSize the longest content one entry holds.
   */
  constructor(readonly stream: LogStreamName, readonly maxLineSize: number) {
    this.pending = Buffer.allocUnsafe(maxLineSize);
  }

  /** Bytes of an unfinished line held until its newline (or the end of the stream) arrives. */
  get pendingBytes(): number {
    return this.pendingLen;
  }

  /**
   * Encodes `chunk` into whole entries stamped with `time` (a formatted CRI timestamp). Returns
   * null when the chunk only extended an unfinished line.
   */
  encode(chunk: Uint8Array, time: string): Buffer | null {
    this.begin(time, chunk.length + (chunk.length >> 1) + 256);
    const max = this.maxLineSize;
    let pos = 0;
    if (this.pendingLen > 0) {
      const nl = chunk.indexOf(NL);
      const segEnd = nl < 0 ? chunk.length : nl;
      const take = Math.min(segEnd, max - this.pendingLen);
      this.pending.set(chunk.subarray(0, take), this.pendingLen);
      this.pendingLen += take;
      pos = take;
      if (pos === segEnd && nl >= 0) {
        this.entry(TAG_F, this.pending, 0, this.pendingLen);
        this.pendingLen = 0;
        pos = nl + 1;
      } else if (pos === segEnd) {
        return this.finish();
      } else {
        // The held line is full and more of it follows: now we know it is partial.
        this.entry(TAG_P, this.pending, 0, this.pendingLen);
        this.pendingLen = 0;
      }
    }
    const n = chunk.length;
    while (pos < n) {
      const nl = chunk.indexOf(NL, pos);
      if (nl < 0) {
        while (n - pos > max) {
          this.entry(TAG_P, chunk, pos, pos + max);
          pos += max;
        }
        this.pending.set(chunk.subarray(pos, n), 0);
        this.pendingLen = n - pos;
        break;
      }
      while (nl - pos > max) {
        this.entry(TAG_P, chunk, pos, pos + max);
        pos += max;
      }
      this.entry(TAG_F, chunk, pos, nl);
      pos = nl + 1;
    }
    return this.finish();
  }

  /** Ends the stream: an unfinished last line becomes an `F` entry. Returns null when none. */
  end(time: string): Buffer | null {
    if (this.pendingLen === 0) return null;
    this.begin(time, this.pendingLen + 64);
    this.entry(TAG_F, this.pending, 0, this.pendingLen);
    this.pendingLen = 0;
    return this.finish();
  }

  private begin(time: string, estimate: number): void {
    this.header = Buffer.from(`${time} ${this.stream} `, 'latin1');
    this.out = Buffer.allocUnsafe(estimate);
    this.pos = 0;
  }

  private entry(tag: number, src: Uint8Array, start: number, end: number): void {
    const h = this.header;
    const need = h.length + 3 + (end - start);
    if (this.pos + need > this.out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.pos + need + 4096));
      this.out.copy(bigger, 0, 0, this.pos);
      this.out = bigger;
    }
    const out = this.out;
    let p = this.pos;
    // A JS loop beats a native copy call for a 38-byte header repeated on every line.
    for (let i = 0; i < h.length; i++) out[p++] = h[i]!;
    out[p++] = tag;
    out[p++] = SPACE;
    if (end - start < 32) {
      for (let i = start; i < end; i++) out[p++] = src[i]!;
    } else {
      // Buffer#copy is native and allocates nothing (a subarray per line would feed the GC).
      p += Buffer.prototype.copy.call(src, out, p, start, end);
    }
    out[p++] = NL;
    this.pos = p;
  }

  private finish(): Buffer | null {
    if (this.pos === 0) return null;
    const b = this.out.subarray(0, this.pos);
    this.out = Buffer.alloc(0);
    return b;
  }
}
