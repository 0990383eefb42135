import { TaskioError } from '../errors.js';

/** The key sequence that detaches from a task unless `--detach-keys` says otherwise (docker's). */
export const defaultDetachKeys = 'ctrl-p,ctrl-q';

/** `ctrl-@` is 0, `ctrl-a` 1 … `ctrl-z` 26, then `ctrl-[` `ctrl-\` `ctrl-]` `ctrl-^` `ctrl-_` (27–31). */
const controlKeys = '@abcdefghijklmnopqrstuvwxyz[\\]^_';

/**
 * Reads a `--detach-keys` value in docker's format: comma-separated keys, each a single
 * character (`a`, `,` cannot be one), `ctrl-<key>` with `<key>` one of `@ a-z [ \ ] ^ _`
 * (lower case, as docker), or `DEL`. An empty value means the default, `ctrl-p,ctrl-q`.
 * @returns the bytes of the sequence.
 * @throws TaskioError `ERR_INVALID_DETACH_KEYS` naming the key it cannot read.
 */
export function parseDetachKeys(value: string): Buffer {
  const keys = (value === '' ? defaultDetachKeys : value).split(',');
  return Buffer.from(keys.map((key) => {
    if (key.length === 1 && key.charCodeAt(0) < 0x80) return key.charCodeAt(0);
    if (key === 'DEL') return 0x7f;
    const code = key.length === 6 && key.startsWith('ctrl-') ? controlKeys.indexOf(key[5]!) : -1;
    if (code < 0) throw new TaskioError('ERR_INVALID_DETACH_KEYS', `unknown character: '${key}'`);
    return code;
  }));
}

/** What {@link DetachScanner.scan} makes of one chunk of input. */
export interface ScanResult {
  /** The bytes to forward to the task now (a held partial match that broke comes first). */
  data: Buffer;
  /** True when the chunk completed the detach sequence; nothing after it is forwarded. */
  detached: boolean;
}

/**
 * Watches the stdin byte stream of an attach for the detach key sequence, as docker's escape
 * proxy does, but over the stream rather than per read: a sequence split across reads matches.
 * Bytes pass through; the bytes of a partial match are held back, and released in order, together
 * with the byte that broke the sequence, when it does not go on (that byte does not start a new
 * match — docker's rule, so `ctrl-p ctrl-p ctrl-q` sends all three instead of detaching). A full
 * match reports a detach; its bytes, and everything after it, are never forwarded.
 */
export class DetachScanner {
  readonly #keys: Uint8Array;
  /** How many bytes of the sequence are matched (and held). */
  #matched = 0;
  #detached = false;

  /** @param keys - the sequence, from {@link parseDetachKeys}; an empty one never detaches. */
  constructor(keys: Uint8Array) {
    this.#keys = keys;
  }

  /** True once the sequence was seen; later chunks are ignored. */
  get detached(): boolean {
    return this.#detached;
  }

  /** The bytes of a partial match held back so far (a copy). */
  get held(): Buffer {
    return Buffer.from(this.#keys.subarray(0, this.#matched));
  }

  /** Scans the next chunk of input. */
  scan(chunk: Uint8Array): ScanResult {
    if (this.#detached) return { data: Buffer.alloc(0), detached: true };
    const keys = this.#keys;
    if (keys.length === 0) return { data: Buffer.from(chunk), detached: false };
    const out: Uint8Array[] = [];
    let start = 0; // chunk[start..i) are bytes to forward as they are
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === keys[this.#matched]) {
        // A match that starts inside this chunk holds its bytes back from here.
        if (this.#matched === 0) out.push(chunk.subarray(start, i));
        this.#matched++;
        if (this.#matched === keys.length) {
          this.#matched = 0;
          this.#detached = true;
          return { data: Buffer.concat(out), detached: true };
        }
        start = i + 1;
      } else if (this.#matched > 0) {
        out.push(keys.subarray(0, this.#matched));
        this.#matched = 0;
        start = i;
      }
    }
    if (this.#matched === 0) out.push(chunk.subarray(start));
    return { data: Buffer.concat(out), detached: false };
  }

  /** Releases the held bytes at the end of input (stdin closed without completing the sequence). */
  flush(): Buffer {
    const held = this.held;
    this.#matched = 0;
    return held;
  }
}
