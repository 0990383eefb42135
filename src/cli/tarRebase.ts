import { Transform, type TransformCallback } from 'node:stream';
import { TaskioError } from '../errors.js';

const blockSize = 512;
/** The longest GNU long name or pax header kept (a path is at most PATH_MAX, 4096, on Linux). */
const maxMetaSize = 64 * 1024;
/** Entry types that carry no data (Go's `isHeaderOnlyType`): a nonzero size there is refused, see below. */
const headerOnly = new Set(['1', '2', '3', '4', '5', '6']);
const regular = new Set(['0', '\0', '7']);
const allowed = new Set([...headerOnly, ...regular]);
const posixMagic = 'ustar\0';

/** What {@link TarRebase} checks the entries against and renames them to. */
export interface RebaseOptions {
  /** The top entry every member must be (or be under): the copied file's or directory's name; `.` for a directory's contents. */
  base: string;
  /** The name that top entry takes (`.` leaves a `.` base as it is). */
  name: string;
  /**
   * Called with each member as it will be extracted (renamed; a hard link's target renamed too;
   * bytes as latin1 strings) and its type; what it throws fails the stream. The extraction's own
   * checks (`LinkGuard`).
   */
  check?: (name: string, type: string, link: string) => void;
}

/**
 * A tar stream checked and renamed on its way to an extractor, as docker's `RebaseArchiveEntries`
 * renames it: every member must be `base` or lie under it — no absolute name, no `..`, nothing
 * beside it — or the stream fails (`ERR_INVALID_ARG_VALUE`, naming the member), so what an archive
 * made in a task holds can only land inside the copy's destination; hard links' targets likewise.
 * Then `base` becomes `name`. It reads the GNU format (long names) that GNU tar and busybox tar
 * write, and pax headers; every header is written anew (checksum, long name), and a header-only
 * member that claims data is refused, so the extractor frames the stream exactly as it was checked.
 * The end of the archive ends it: what follows is dropped. Names are kept as bytes (latin1 strings).
 */
export class TarRebase extends Transform {
  /** Bytes of regular files' contents seen: what `Successfully copied` counts. */
  contentBytes = 0;
  readonly #base: string;
  readonly #name: string;
  readonly #check: RebaseOptions['check'];
  #chunks: Buffer[] = [];
  #queued = 0;
  /** Bytes of member data (with padding) still to pass through. */
  #data = 0;
  #ended = false;
  #longName: string | null = null;
  #longLink: string | null = null;
  #pax: Map<string, string> | null = null;
  #paxHeader: Buffer | null = null;

  constructor(opts: RebaseOptions) {
    super();
    this.#base = latin1(opts.base);
    this.#name = latin1(opts.name);
    this.#check = opts.check;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.#ended) { done(); return; }
    this.#chunks.push(chunk);
    this.#queued += chunk.length;
    try {
      this.#drain();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    done(this.#ended ? null : new TaskioError('ERR_INVALID_ARG_VALUE', 'the tar stream ended before its end-of-archive blocks'));
  }

  #drain(): void {
    while (!this.#ended) {
      if (this.#data > 0) {
        if (this.#queued === 0) return;
        const part = this.#take(Math.min(this.#data, this.#chunks[0]!.length));
        this.#data -= part.length;
        this.push(part);
        continue;
      }
      if (this.#queued < blockSize) return;
      const header = this.#peek(blockSize);
      if (header.every((b) => b === 0)) {
        this.#take(blockSize);
        this.#ended = true;
        this.push(Buffer.alloc(2 * blockSize));
        this.push(null);
        return;
      }
      if (!validChecksum(header)) throw new TaskioError('ERR_INVALID_ARG_VALUE', 'not a tar stream: a header\'s checksum does not match');
      const type = String.fromCharCode(header[156]!);
      const size = headerSize(header);
      if (type === 'L' || type === 'K' || type === 'x') {
        if (size > maxMetaSize) throw new TaskioError('ERR_INVALID_ARG_VALUE', `tar ${type} header of ${size} bytes: longer than ${maxMetaSize}`);
        const padded = blockSize + roundUp(size);
        if (this.#queued < padded) return;
        const meta = this.#take(padded);
        const body = meta.subarray(blockSize, blockSize + size);
        if (type === 'L') this.#longName = cString(body);
        else if (type === 'K') this.#longLink = cString(body);
        else [this.#pax, this.#paxHeader] = [parsePax(body), Buffer.from(meta.subarray(0, blockSize))];
        continue;
      }
      this.#entry(Buffer.from(this.#take(blockSize)), type, size);
    }
  }

  /** Checks and renames one member, writes its headers anew and sets how much data follows. */
  #entry(header: Buffer, type: string, headerBytes: number): void {
    const pax = this.#pax;
    const name = pax?.get('path') ?? this.#longName ?? ustarName(header);
    let link = pax?.get('linkpath') ?? this.#longLink ?? cString(header.subarray(157, 257));
    const size = pax?.has('size') ? Number(pax.get('size')) : headerBytes;
    if (!allowed.has(type)) throw new TaskioError('ERR_INVALID_ARG_VALUE', `tar member ${show(name)} has type ${JSON.stringify(type)}: only files, directories, links and devices are copied`);
    if (!Number.isSafeInteger(size) || size < 0) throw new TaskioError('ERR_INVALID_ARG_VALUE', `tar member ${show(name)} has an invalid size`);
    // Extractors disagree on whether a link's or directory's size is followed by data: refusing
    // one that claims some keeps a member from hiding in another's data.
    if (headerOnly.has(type) && size !== 0) throw new TaskioError('ERR_INVALID_ARG_VALUE', `tar member ${show(name)} (type ${type}) claims ${size} bytes of data`);
    const renamed = this.#rebase(name, type === '5');
    if (type === '1') link = this.#rebase(link, false);
    this.#check?.(renamed, type, link);
    if (regular.has(type)) this.contentBytes += size;
    [this.#longName, this.#longLink, this.#pax] = [null, null, null];
    if (pax) {
      if (pax.has('path')) pax.set('path', renamed);
      if (pax.has('linkpath')) pax.set('linkpath', link);
      this.push(metaMember(this.#paxHeader!, 'x', formatPax(pax)));
    }
    if (Buffer.byteLength(renamed, 'latin1') > 100) this.push(metaMember(null, 'L', Buffer.from(`${renamed}\0`, 'latin1')));
    if (Buffer.byteLength(link, 'latin1') > 100) this.push(metaMember(null, 'K', Buffer.from(`${link}\0`, 'latin1')));
    header.fill(0, 0, 100).write(renamed.slice(0, 100), 0, 'latin1');
    header.fill(0, 157, 257).write(link.slice(0, 100), 157, 'latin1');
    if (header.toString('latin1', 257, 263) === posixMagic) header.fill(0, 345, 500);
    setChecksum(header);
    this.push(header);
    this.#data = roundUp(size);
  }

  /** `name` checked to be `base` or under it, with `base` renamed; a directory's name ends in `/`. */
  #rebase(name: string, dir: boolean): string {
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (name.startsWith('/') || parts.includes('..') || (this.#base !== '.' && parts[0] !== this.#base)) {
      throw new TaskioError('ERR_INVALID_ARG_VALUE', `tar member ${show(name)} is not under ${show(this.#base)}: refused (an archive of ${show(this.#base)} holds nothing else)`);
    }
    const rest = this.#base === '.' ? parts : parts.slice(1);
    const top = this.#name === '.' ? [] : [this.#name];
    const joined = [...top, ...rest].join('/');
    if (joined === '') return './';
    return dir ? `${joined}/` : joined;
  }

  #peek(n: number): Buffer {
    if (this.#chunks[0]!.length < n) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0]!.subarray(0, n);
  }

  #take(n: number): Buffer {
    const out = this.#peek(n);
    const first = this.#chunks[0]!;
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#queued -= n;
    return out;
  }
}

function latin1(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** A member's name as a message shows it (UTF-8, as the bytes most likely are). */
function show(name: string): string {
  return JSON.stringify(Buffer.from(name, 'latin1').toString('utf8'));
}

function roundUp(n: number): number {
  return Math.ceil(n / blockSize) * blockSize;
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('latin1', 0, nul < 0 ? b.length : nul);
}

/** The name of a ustar header: POSIX ustar's prefix joined to it. */
function ustarName(h: Buffer): string {
  const name = cString(h.subarray(0, 100));
  if (h.toString('latin1', 257, 263) !== posixMagic) return name;
  const prefix = cString(h.subarray(345, 500));
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** The size field: octal, or GNU's base-256 (high bit set) for sizes past 8 GiB. */
function headerSize(h: Buffer): number {
  const field = h.subarray(124, 136);
  if (field[0]! & 0x80) {
    let n = BigInt(field[0]! & 0x7f);
    for (const b of field.subarray(1)) n = (n << 8n) | BigInt(b);
    if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new TaskioError('ERR_INVALID_ARG_VALUE', 'tar member too large');
    return Number(n);
  }
  const text = cString(field).trim();
  if (!/^[0-7]*$/.test(text)) throw new TaskioError('ERR_INVALID_ARG_VALUE', `tar header with an invalid size field ${JSON.stringify(text)}`);
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function checksumOf(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < blockSize; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
  return sum;
}

function validChecksum(h: Buffer): boolean {
  const text = cString(h.subarray(148, 156)).trim();
  return /^[0-7]+$/.test(text) && Number.parseInt(text, 8) === checksumOf(h);
}

function setChecksum(h: Buffer): void {
  h.write(`${checksumOf(h).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

/** A GNU long name/link or pax member: `header` (or a fresh GNU one) for `body`, padded. */
function metaMember(header: Buffer | null, type: string, body: Buffer): Buffer {
  const h = header ? Buffer.from(header) : Buffer.alloc(blockSize);
  if (!header) {
    h.write('././@LongLink', 0, 'latin1');
    h.write('0000644\0', 100, 'latin1');
    h.write('0000000\0', 108, 'latin1');
    h.write('0000000\0', 116, 'latin1');
    h.write('00000000000\0', 136, 'latin1');
    h.write('ustar  \0', 257, 'latin1');
  }
  h.write(type, 156, 'latin1');
  h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  setChecksum(h);
  return Buffer.concat([h, body, Buffer.alloc(roundUp(body.length) - body.length)]);
}

/** pax records (`LEN key=value\n`), as latin1 strings (their values are bytes). */
function parsePax(body: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const space = body.indexOf(0x20, at);
    const len = Number.parseInt(body.toString('latin1', at, space), 10);
    if (space < 0 || !(len > 0) || at + len > body.length) throw new TaskioError('ERR_INVALID_ARG_VALUE', 'tar pax header with an invalid record');
    const record = body.toString('latin1', space + 1, at + len - 1);
    const eq = record.indexOf('=');
    if (eq < 0) throw new TaskioError('ERR_INVALID_ARG_VALUE', 'tar pax header with an invalid record');
    records.set(record.slice(0, eq), record.slice(eq + 1));
    at += len;
  }
  return records;
}

/** pax records written back: each one's length counts its own digits. */
function formatPax(records: Map<string, string>): Buffer {
  let out = '';
  for (const [key, value] of records) {
    const rest = ` ${key}=${value}\n`;
    const restLen = Buffer.byteLength(rest, 'latin1');
    let len = restLen + 1;
    while (String(len).length + restLen !== len) len = String(len).length + restLen;
    out += `${len}${rest}`;
  }
  return Buffer.from(out, 'latin1');
}
