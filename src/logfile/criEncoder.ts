import type { LogStreamName } from './options.js';

const NL = 0x0a, SPACE = 0x20, TAG_P = 0x50, TAG_F = 0x46;
// `2006-01-02T15:04:05.000000000Z stdout ` is 38 bytes; room to spare for the header slot.
const headerSlot = 64;
/** The input an encoder starts with: a pipe's default capacity. */
export const initialInputSize = 64 * 1024;

/**
 * Turns one source's bytes into CRI log entries: `<time> <stream> <P|F> <content>\n`.
 *
 * An entry is cut where a line grows past `maxLineSize` (`P` pieces, then a final `F`), never where
 * a read happened to end: the unfinished tail of a chunk waits here (at most `maxLineSize` bytes)
 * until its newline arrives, or until the caller takes it as a `P` entry ({@link takePartial}: the
 * writer does once the stream went quiet, so a prompt reaches the log). Bytes are copied as they are — no decoding — so
 * invalid UTF-8 and a `\r` before the newline survive untouched. A line of exactly `maxLineSize`
 * bytes is one `F` entry: the encoder waits for the next byte before deciding it was partial.
 *
 * Speed is the point of the layout: the header slot, the held line, the input area and the output
 * area are views of **one** ArrayBuffer, so every per-entry copy is a `copyWithin` — a native
 * memmove that allocates nothing. (`Buffer#copy` and `set(subarray())` allocate a view per call,
 * which at a million lines a second is what the garbage collector then spends its time on.) The
 * header (time and stream) is formatted once per chunk, not once per line, and a whole chunk's
 * entries land in one output buffer that the caller writes with one call.
 *
 * Usage: put bytes into {@link input} (a read lands there directly, or {@link load} copies them),
 * call {@link encode}, then {@link takeOutput} and write what it returns. The output buffers point
 * into this encoder's memory: do not call `encode` again until they have been written.
 *
 * split2 is not used here: it decodes to strings (losing invalid UTF-8) and treats an over-long
 * line as an error, where CRI needs byte-exact cutting into `P` entries.
 */
export class CriEncoder {
  #input!: Buffer;
  #mem!: Uint8Array;
  #headerView!: Buffer;
  readonly #pendingAt = headerSlot;
  #pendingLen = 0;
  /** The last entry made was a `P`: the line it began has not ended in the log yet. */
  #lineOpen = false;
  readonly #inputAt: number;
  #outAt = 0;
  #outCap = 0;
  #outLen = 0;
  /** The input size asked for; the memory starts smaller and grows to it once a chunk fills the input. */
  readonly #fullInput: number;
  #grow = false;
  #headerLen = 0;
  #time = '';
  // Entries that did not fit into the output area (lines much shorter than the header): rare.
  #spilled: Buffer[] = [];
  #spill: Buffer | null = null;
  #spillLen = 0;

  /**
   * @param stream the stream named in every entry.
   * @param maxLineSize the longest content one entry holds.
   * @param inputSize the most {@link input} grows to (a copy uses its read size). It starts at
   *   {@link initialInputSize} at most and grows once a chunk filled it: a task that writes little
   *   (most of them) never has megabytes set aside for it. Those counted against the daemon's heap
   *   as external memory, 6.6 MB a task with two 1 MiB reads, and V8 ran a full garbage collection
   *   every few short tasks for them.
   */
  constructor(readonly stream: LogStreamName, readonly maxLineSize: number, inputSize = 64 * 1024) {
    this.#fullInput = inputSize;
    this.#inputAt = headerSlot + maxLineSize;
    this.#layout(Math.min(inputSize, initialInputSize));
  }

  /** Where the bytes to encode go: a read buffer (`onread`, asked for before each read) or the target of {@link load}. */
  get input(): Buffer {
    if (this.#grow) {
      this.#grow = false;
      this.#layout(this.#fullInput);
    }
    return this.#input;
  }

  /**
   * Lays the memory out for an input of `inputSize`, keeping the header, the held line and the
   * output not yet taken. Output already taken stays valid: it is a view of the memory it was in.
   */
  #layout(inputSize: number): void {
    const old = this.#mem as Uint8Array | undefined;
    const oldOutAt = this.#outAt;
    // Twice the input holds a chunk of 100-byte lines with its headers in one piece; it must hold
    // at least one entry of the longest content.
    this.#outCap = Math.max(2 * inputSize, 2 * (this.maxLineSize + headerSlot + 3));
    this.#outAt = this.#inputAt + inputSize;
    // Not zeroed (`new ArrayBuffer` is): every byte handed out is one written here first, and
    // zeroing 3 MiB per stream at each task's start cost the daemon more than the task's start
    // once glibc served it from freed heap memory — and made every page resident.
    const ab = Buffer.allocUnsafeSlow(this.#outAt + this.#outCap).buffer;
    this.#mem = new Uint8Array(ab);
    if (old) {
      this.#mem.set(old.subarray(0, this.#pendingAt + this.#pendingLen), 0);
      this.#mem.set(old.subarray(oldOutAt, oldOutAt + this.#outLen), this.#outAt);
    }
    this.#headerView = Buffer.from(ab, 0, headerSlot);
    this.#input = Buffer.from(ab, this.#inputAt, inputSize);
  }

  /** Bytes of an unfinished line held until its newline (or the end of the stream) arrives. */
  get pendingBytes(): number {
    return this.#pendingLen;
  }

  /** Copies up to `input.length` bytes of `src` from `from` into {@link input}; returns how many. */
  load(src: Uint8Array, from = 0): number {
    const input = this.input;
    const n = Math.min(src.length - from, input.length);
    input.set(from === 0 && n === src.length ? src : src.subarray(from, from + n), 0);
    return n;
  }

  /**
   * Encodes the first `n` bytes of {@link input} into entries stamped with `time` (a formatted CRI
   * timestamp), appended to the output that {@link takeOutput} hands over. The input may be
   * overwritten afterwards: what must wait for more bytes has been copied aside.
   */
  encode(n: number, time: string): void {
    this.#setTime(time);
    const max = this.maxLineSize, base = this.#inputAt;
    // A chunk that filled the input: more is coming than it holds, the next input is the full one.
    if (n === this.#input.length && n < this.#fullInput) this.#grow = true;
    const src = n === this.#input.length ? this.#input : this.#input.subarray(0, n);
    let pos = 0;
    if (this.#pendingLen > 0) {
      const nl = src.indexOf(NL);
      const segEnd = nl < 0 ? n : nl;
      const take = Math.min(segEnd, max - this.#pendingLen);
      this.#mem.copyWithin(this.#pendingAt + this.#pendingLen, base, base + take);
      this.#pendingLen += take;
      pos = take;
      if (pos === segEnd && nl >= 0) {
        this.#entry(TAG_F, this.#pendingAt, this.#pendingLen);
        this.#pendingLen = 0;
        pos = nl + 1;
      } else if (pos === segEnd) {
        return;
      } else {
        // The held line is full and more of it follows: now we know it is partial.
        this.#entry(TAG_P, this.#pendingAt, this.#pendingLen);
        this.#pendingLen = 0;
      }
    }
    while (pos < n) {
      const nl = src.indexOf(NL, pos);
      const segEnd = nl < 0 ? n : nl;
      while (segEnd - pos > max) {
        this.#entry(TAG_P, base + pos, max);
        pos += max;
      }
      if (nl < 0) {
        this.#mem.copyWithin(this.#pendingAt, base + pos, base + n);
        this.#pendingLen = n - pos;
        return;
      }
      this.#entry(TAG_F, base + pos, nl - pos);
      pos = nl + 1;
    }
  }

  /**
   * Hands over the entries encoded since the last call (usually one buffer; more when short lines
   * outgrew the output area), or null when there are none. The first buffer is a view of this
   * encoder's memory: write it before the next {@link encode}.
   */
  takeOutput(): Buffer[] | null {
    if (this.#outLen === 0) return null;
    const out = [Buffer.from(this.#mem.buffer, this.#outAt, this.#outLen)];
    this.#outLen = 0;
    if (this.#spill) {
      this.#spilled.push(this.#spill.subarray(0, this.#spillLen));
      this.#spill = null;
    }
    if (this.#spilled.length > 0) {
      out.push(...this.#spilled);
      this.#spilled = [];
    }
    return out;
  }

  /**
   * Hands over the unfinished last line as one entry in a fresh buffer (so it may be written while
   * an earlier output is still in flight), or null when there is none. It is an `F` entry when the
   * stream ended (EOF: the line is complete as it is), a `P` entry with `cut` when the copy was
   * stopped before its input ended (what follows, if ever, belongs to the same line).
   */
  end(time: string, cut = false): Buffer | null {
    // A last line whose bytes all went out as P entries (a prompt the stream was quiet after,
    // {@link takePartial}) still ends with the stream: an empty F closes it, so the log reads back
    // the same — with its newline — however the task's output was timed.
    return this.#heldEntry(cut ? TAG_P : TAG_F, time, !cut && this.#lineOpen);
  }

  /**
   * Hands over the unfinished line held so far as a `P` entry in a fresh buffer, or null when none
   * is held; the encoder goes on, and the rest of the line, when it comes, is the next entry (CRI
   * readers join them). For a stream that went quiet in the middle of a line — a prompt waiting for
   * its answer — which would otherwise reach the log only with its newline.
   */
  takePartial(time: string): Buffer | null {
    return this.#heldEntry(TAG_P, time);
  }

  #heldEntry(tag: number, time: string, evenEmpty = false): Buffer | null {
    if (this.#pendingLen === 0 && !evenEmpty) return null;
    this.#lineOpen = tag === TAG_P;
    this.#setTime(time);
    const h = this.#headerLen, len = this.#pendingLen;
    const b = Buffer.allocUnsafe(h + 3 + len);
    b.set(this.#mem.subarray(0, h), 0);
    b[h] = tag;
    b[h + 1] = SPACE;
    b.set(this.#mem.subarray(this.#pendingAt, this.#pendingAt + len), h + 2);
    b[h + 2 + len] = NL;
    this.#pendingLen = 0;
    return b;
  }

  #setTime(time: string): void {
    if (time === this.#time) return;
    this.#time = time;
    // latin1: the header is ASCII, and this writes into the slot without allocating.
    this.#headerLen = this.#headerView.write(`${time} ${this.stream} `, 0, 'latin1');
  }

  /** Appends one entry whose content is `len` bytes of this encoder's memory at `at`. */
  #entry(tag: number, at: number, len: number): void {
    this.#lineOpen = tag === TAG_P;
    const h = this.#headerLen;
    const need = h + 3 + len;
    // Once spilling, keep spilling until the output is taken: a shorter entry that would still fit
    // the output area must not overtake the spilled ones.
    if (this.#spill !== null || this.#outLen + need > this.#outCap) {
      this.#spillEntry(tag, at, len, need);
      return;
    }
    const m = this.#mem;
    let p = this.#outAt + this.#outLen;
    m.copyWithin(p, 0, h);
    p += h;
    m[p++] = tag;
    m[p++] = SPACE;
    m.copyWithin(p, at, at + len);
    p += len;
    m[p++] = NL;
    this.#outLen = p - this.#outAt;
  }

  /** The slow path for an output area that is full: entries go into separate buffers. */
  #spillEntry(tag: number, at: number, len: number, need: number): void {
    if (!this.#spill || this.#spillLen + need > this.#spill.length) {
      if (this.#spill) this.#spilled.push(this.#spill.subarray(0, this.#spillLen));
      this.#spill = Buffer.allocUnsafe(Math.max(this.#outCap, need));
      this.#spillLen = 0;
    }
    const s = this.#spill, m = this.#mem, h = this.#headerLen;
    let p = this.#spillLen;
    s.set(m.subarray(0, h), p);
    p += h;
    s[p++] = tag;
    s[p++] = SPACE;
    s.set(m.subarray(at, at + len), p);
    p += len;
    s[p++] = NL;
    this.#spillLen = p;
  }
}
