import { Transform, type TransformCallback } from 'node:stream';
import { TaskioError } from '../errors.js';

/** Docker's default detach sequence. */
export const defaultDetachKeys = 'ctrl-p,ctrl-q';

/**
 * Parses Docker's `--detach-keys` format: comma-separated keys, each a single character or
 * `ctrl-<c>` for `c` in `a`–`z`, `@`, `[`, `\`, `]`, `^`, `_`. An empty string means none.
 * @throws TaskioError `ERR_INVALID_DETACH_KEYS` naming the bad key.
 */
export function parseDetachKeys(spec: string): Buffer {
  if (spec === '') return Buffer.alloc(0);
  const out: number[] = [];
  for (const key of spec.split(',')) {
    const ctrl = /^ctrl-(.)$/i.exec(key);
    if (ctrl) {
      const c = ctrl[1]!.toLowerCase();
      // ctrl-a..z are 1..26; ctrl-@ is 0 and ctrl-[ \\ ] ^ _ are 27..31.
      const sym = '@[\\]^_'.indexOf(c);
      const code = c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 96 : sym === 0 ? 0 : sym > 0 ? sym + 26 : -1;
      if (code < 0) throw new TaskioError('ERR_INVALID_DETACH_KEYS', `invalid detach key ${JSON.stringify(key)}: ctrl- takes a-z, @, [, \\, ], ^ or _`);
      out.push(code);
    } else if (key.length === 1) {
      out.push(key.charCodeAt(0));
    } else {
      throw new TaskioError('ERR_INVALID_DETACH_KEYS', `invalid detach key ${JSON.stringify(key)} in ${JSON.stringify(spec)}: use a single character or ctrl-<key>`);
    }
  }
  return Buffer.from(out);
}

/**
 * Passes input through until the detach sequence is typed, then emits `'detach'` and ends.
 * Bytes that may be the start of the sequence are held back until it is clear they are not, then
 * passed on; the sequence itself never reaches the task.
 */
export class DetachScanner extends Transform {
  #matched = 0;
  #detached = false;

  readonly #keys: Buffer;

  constructor(keys: Buffer) {
    super();
    this.#keys = keys;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.#detached) return cb();
    if (this.#keys.length === 0) return cb(null, chunk);
    const out: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== this.#keys[this.#matched]) {
        if (this.#matched === 0) continue;
        // Not the sequence after all: what was held back goes on, and this byte may start it anew.
        out.push(this.#keys.subarray(0, this.#matched));
        this.#matched = 0;
        start = i;
        if (chunk[i] !== this.#keys[0]) continue;
      }
      if (i > start) out.push(chunk.subarray(start, i));
      start = i + 1;
      if (++this.#matched === this.#keys.length) {
        this.#detached = true;
        if (out.length > 0) this.push(Buffer.concat(out));
        this.emit('detach');
        this.push(null);
        return cb();
      }
    }
    if (chunk.length > start) out.push(chunk.subarray(start));
    cb(null, out.length > 0 ? Buffer.concat(out) : undefined);
  }
}
