import net from 'node:net';
import { Readable } from 'node:stream';
import { TaskioError, abortError } from '../errors.js';

/**
 * The client side of the daemon's HTTP/1.1 on its unix socket, written out by hand for the few
 * shapes the daemon answers with: a body of known length (JSON), none (204), a chunked stream
 * (events, stats, logs) and a `101` that hands the connection over (attach).
 *
 * Why not `node:http`: every `taskio` command is a fresh process, and its first request through
 * `http.request` runs the client request, agent, parser and incoming-message code for the first
 * time — `GET /version` took 7–10 ms from the request to the answer that way against 2–3 ms by
 * hand, on a 2-core machine (the daemon's part the same), and `taskio run` makes two requests.
 *
 * Connections are kept alive as node:http's keep-alive agent keeps them: one whose answer was read
 * to its end is reused by the next call, does not keep the process alive while idle, and is closed
 * after `idleMs`. A reused connection the daemon closed meanwhile (its idle timeout, a restart)
 * fails before any answer; the call is then sent again on a fresh one where that cannot do it
 * twice ({@link sendAgain}).
 */

/** One request. */
export interface HttpCall {
  method: string;
  /** The path with its query, already encoded. */
  path: string;
  /** A JSON text sent as the body. */
  body?: string;
  /** Asks to take over the connection (`Connection: Upgrade`, `Upgrade: tcp`): a `101` hands it over. */
  upgrade?: boolean;
  /**
   * Sent on a connection of its own, never a kept-alive one: a call that waits long (a task's
   * exit) and is cut by the daemon's death then fails with `ECONNRESET`, where on a reused
   * connection that failure looks like a stale one's and the call would be sent again.
   */
  ownConnection?: boolean;
  signal?: AbortSignal;
}

/** One answer. */
export interface HttpAnswer {
  status: number;
  /** Header names in lower case; a repeated header's values joined with `, `. */
  headers: Record<string, string>;
  /** The body, decoded from its framing (empty after a `101`). */
  body: Readable;
  /** A `101`'s connection, now the caller's, and the bytes that followed the answer's head. */
  upgraded?: { socket: net.Socket; head: Buffer };
}

/** An answer's head is at most this long; anything longer is not the daemon talking. */
const maxHeadBytes = 64 * 1024;
/** Calls sent again after a reused connection failed before any answer (each one leaves the pool). */
const maxStaleRetries = 16;

/** The client of one unix socket. */
export class UnixHttpClient {
  readonly socketPath: string;
  readonly #idleMs: number;
  /** Idle connections, each with the listener that drops it when the daemon lets go. */
  readonly #idle = new Map<net.Socket, () => void>();

  constructor(socketPath: string, opts: { idleMs?: number } = {}) {
    this.socketPath = socketPath;
    this.#idleMs = opts.idleMs ?? 30_000;
  }

  /**
   * Sends `c` and resolves with the answer once its head arrived. Rejects with the connection's
   * error (`ENOENT`, `ECONNREFUSED` when no daemon listens), `ECONNRESET` when the connection
   * closed before an answer, `ERR_DAEMON_RESPONSE` for one that is not HTTP/1.1, or an `AbortError`.
   */
  async call(c: HttpCall): Promise<HttpAnswer> {
    for (let retries = 0; ; retries++) {
      if (c.signal?.aborted) throw abortError(c.signal);
      // An upgrade takes a connection of its own (it is not given back), as node:http's upgrades do.
      const reused = c.upgrade || c.ownConnection ? null : this.#take();
      try {
        return await this.#exchange(reused ?? net.connect(this.socketPath), c);
      } catch (err) {
        if (!(reused && err instanceof StaleConnection && retries < maxStaleRetries && sendAgain(c, err.original))) throw err instanceof StaleConnection ? err.original : err;
      }
    }
  }

  /** Closes the idle connections; one in use closes when its answer ends. */
  close(): void {
    for (const s of this.#idle.keys()) s.destroy();
    this.#idle.clear();
  }

  #take(): net.Socket | null {
    for (const [s, drop] of this.#idle) {
      this.#idle.delete(s);
      s.off('data', drop).off('end', drop).off('error', drop).off('close', drop).off('timeout', drop);
      s.setTimeout(0);
      if (s.destroyed) continue;
      s.ref();
      return s;
    }
    return null;
  }

  #keep(s: net.Socket): void {
    const drop = (): void => {
      this.#idle.delete(s);
      s.destroy();
    };
    // Nothing is due on an idle connection: data, an error or its end is the daemon letting go.
    s.on('data', drop).on('end', drop).on('error', drop).on('close', drop).on('timeout', drop);
    s.setTimeout(this.#idleMs);
    s.unref();
    s.resume();
    this.#idle.set(s, drop);
  }

  #exchange(socket: net.Socket, c: HttpCall): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      const head: Buffer[] = [];
      let headBytes = 0;
      let answered = false;
      let received = false;
      let body: BodyReader | null = null;
      const done = (keep: boolean): void => {
        cleanup();
        if (keep && !socket.destroyed) this.#keep(socket);
        else socket.destroy();
      };
      const fail = (err: Error): void => {
        cleanup();
        socket.destroy();
        if (!answered) reject(received ? err : new StaleConnection(err));
        else body?.fail(err);
      };
      const onData = (chunk: Buffer): void => {
        received = true;
        if (body) return void body.feed(chunk);
        head.push(chunk);
        headBytes += chunk.length;
        const all = head.length === 1 ? chunk : Buffer.concat(head);
        const end = all.indexOf('\r\n\r\n');
        if (end < 0) {
          if (headBytes > maxHeadBytes) fail(badAnswer(`an answer's head longer than ${maxHeadBytes} bytes`));
          return;
        }
        let parsed: { status: number; headers: Record<string, string> };
        let bodyFraming: Framing;
        try {
          parsed = parseHead(all.subarray(0, end).toString('latin1'));
          bodyFraming = framing(c.method, parsed);
        } catch (err) {
          return fail(err as Error);
        }
        answered = true;
        const rest = all.subarray(end + 4);
        if (parsed.status === 101 && c.upgrade) {
          cleanup();
          // The caller reads the connection from here, as node:http hands over an upgraded socket.
          socket.pause();
          (socket as { readableFlowing: boolean | null }).readableFlowing = null;
          return resolve({ ...parsed, body: emptyBody(), upgraded: { socket, head: rest } });
        }
        body = new BodyReader(bodyFraming, socket, rest, (reusable) => done(reusable && parsed.headers['connection']?.toLowerCase() !== 'close'));
        resolve({ ...parsed, body: body.stream });
      };
      // A daemon that died with bytes of ours unread resets the connection instead of closing it:
      // before an answer, the same event to the caller either way.
      const onError = (err: Error): void => fail(!answered && (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? closedBeforeAnswer(err) : err);
      const onClose = (): void => {
        if (body) body.closed();
        else fail(closedBeforeAnswer());
      };
      const onAbort = (): void => fail(abortError(c.signal));
      const cleanup = (): void => {
        socket.off('data', onData).off('error', onError).off('close', onClose);
        c.signal?.removeEventListener('abort', onAbort);
      };
      socket.on('data', onData).on('error', onError).on('close', onClose);
      c.signal?.addEventListener('abort', onAbort, { once: true });
      socket.write(requestText(c));
    });
  }
}

/** The error of a call whose connection ended (closed, or reset: `cause`) before its answer came. */
function closedBeforeAnswer(cause?: Error): Error {
  return Object.assign(new Error('the daemon closed the connection before it answered', cause ? { cause } : {}), { code: 'ECONNRESET' });
}

/** A body with nothing in it (`Readable.from([])` loads a module of its own at its first use). */
function emptyBody(): Readable {
  const r = new Readable({ read: () => undefined });
  r.push(null);
  return r;
}

/**
 * Whether a call whose reused connection failed before any answer (`err`) is sent again. A GET or
 * HEAD only reads, so it is. Any other call (create, start, kill, rm…) may have been carried out by
 * a daemon that died before it answered, and sent again it would be carried out twice — a second
 * task, a task started again; it is sent again only where the write itself failed (`EPIPE`: the
 * daemon had closed the connection before the request reached it). Else its `ECONNRESET` is the
 * caller's, who can look. Go's `http.Transport`, docker's client, draws the same line.
 */
function sendAgain(c: HttpCall, err: Error): boolean {
  return c.method === 'GET' || c.method === 'HEAD' || (err as NodeJS.ErrnoException).code === 'EPIPE';
}

/** A reused connection that failed before any byte of an answer: the call may be sent again ({@link sendAgain}). */
class StaleConnection extends Error {
  constructor(readonly original: Error) {
    super(original.message);
  }
}

function badAnswer(what: string): TaskioError {
  return new TaskioError('ERR_DAEMON_RESPONSE', `the daemon sent ${what}`);
}

function requestText(c: HttpCall): string {
  let text = `${c.method} ${c.path} HTTP/1.1\r\nHost: localhost\r\n`;
  if (c.upgrade) text += 'Connection: Upgrade\r\nUpgrade: tcp\r\n';
  if (c.body !== undefined) text += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(c.body)}\r\n`;
  else if (c.method !== 'GET' && c.method !== 'HEAD') text += 'Content-Length: 0\r\n';
  return `${text}\r\n${c.body ?? ''}`;
}

function parseHead(text: string): { status: number; headers: Record<string, string> } {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]!);
  if (!m) throw badAnswer(`an answer that is not HTTP/1.1: ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw badAnswer(`a malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status: Number(m[1]), headers };
}

/** How an answer's body is delimited (RFC 9112 §6.3). */
type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

function framing(method: string, a: { status: number; headers: Record<string, string> }): Framing {
  if (method === 'HEAD' || a.status === 204 || a.status === 304 || (a.status >= 100 && a.status < 200)) return { kind: 'none' };
  if (a.headers['transfer-encoding'] !== undefined) {
    if (!/(^|,)\s*chunked\s*$/i.test(a.headers['transfer-encoding'])) throw badAnswer(`an unknown transfer coding: ${a.headers['transfer-encoding']}`);
    return { kind: 'chunked' };
  }
  const cl = a.headers['content-length'];
  if (cl !== undefined) {
    if (!/^\d{1,15}$/.test(cl)) throw badAnswer(`a bad Content-Length: ${JSON.stringify(cl)}`);
    return { kind: 'length', length: Number(cl) };
  }
  return { kind: 'close' };
}

/**
 * Decodes a body from the connection's bytes into a stream, with backpressure (a full stream
 * pauses the connection). Nothing is decoded before the stream is first read: an error found in
 * the first bytes, or a connection lost before then, reaches a caller who listens by then instead
 * of being emitted before the answer is in its hands. `finished(reusable)` is called once: at the
 * body's end (reusable: the connection carries nothing more of it), or when the body failed or
 * was dropped.
 */
class BodyReader {
  readonly stream: Readable;
  readonly #framing: Framing;
  readonly #socket: net.Socket;
  readonly #finished: (reusable: boolean) => void;
  /** What came with the answer's head, decoded at the first read. */
  #first: Buffer | null;
  #error: Error | null = null;
  #remaining = 0;
  /** Chunked: 'size' line, 'data', the CRLF after the data, the 'trailer' lines; then 'end'. */
  #state: 'size' | 'data' | 'crlf' | 'trailer' | 'end' = 'size';
  #line = '';
  #crlfLeft = 0;

  constructor(f: Framing, socket: net.Socket, first: Buffer, finished: (reusable: boolean) => void) {
    this.#framing = f;
    this.#socket = socket;
    this.#first = first;
    this.#finished = finished;
    this.stream = new Readable({ read: () => this.#pull() });
    // Dropped before its end (destroyed by the caller): the connection goes with it.
    this.stream.once('close', () => { if (this.#state !== 'end') this.#end(false); });
    if (f.kind === 'length') this.#remaining = f.length;
    if (f.kind === 'none' || (f.kind === 'length' && f.length === 0)) this.#end(true);
    else socket.pause();
  }

  #pull(): void {
    const first = this.#first;
    if (first !== null) {
      this.#first = null;
      if (this.#error) return void this.stream.destroy(this.#error);
      this.feed(first);
    }
    if (this.#state !== 'end') this.#socket.resume();
  }

  #push(b: Buffer): void {
    if (!this.stream.push(b)) this.#socket.pause();
  }

  /** More bytes from the connection (only once the stream is read: the connection is paused before). */
  feed(chunk: Buffer): void {
    if (this.#state === 'end' || chunk.length === 0) return;
    const f = this.#framing;
    if (f.kind === 'close') return this.#push(chunk);
    if (f.kind === 'length') {
      const take = Math.min(this.#remaining, chunk.length);
      this.#remaining -= take;
      if (take > 0) this.#push(chunk.subarray(0, take));
      if (this.#remaining === 0) this.#end(true);
      return;
    }
    if (f.kind === 'chunked') this.#chunked(chunk);
  }

  /** The connection closed: the end of a body delimited by it, else a body cut short. */
  closed(): void {
    if (this.#state === 'end') return;
    if (this.#framing.kind === 'close' && this.#first === null) return this.#end(false);
    this.fail(Object.assign(new Error('the daemon closed the connection in the middle of an answer'), { code: 'ECONNRESET' }));
  }

  /** The body cannot be read to its end (the connection failed or the call was aborted). */
  fail(err: Error): void {
    if (this.#state === 'end') return;
    this.#state = 'end';
    this.#finished(false);
    if (this.#first !== null) this.#error = err; // given at the first read
    else this.stream.destroy(err);
  }

  #chunked(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && this.#state !== 'end') {
      if (this.#state === 'data') {
        const take = Math.min(this.#remaining, chunk.length - i);
        this.#push(chunk.subarray(i, i + take));
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) {
          this.#state = 'crlf';
          this.#crlfLeft = 2;
        }
      } else if (this.#state === 'crlf') {
        const take = Math.min(this.#crlfLeft, chunk.length - i);
        i += take;
        this.#crlfLeft -= take;
        if (this.#crlfLeft === 0) this.#state = 'size';
      } else {
        const nl = chunk.indexOf(0x0a, i);
        const end = nl < 0 ? chunk.length : nl + 1;
        this.#line += chunk.toString('latin1', i, end);
        i = end;
        if (nl < 0) {
          if (this.#line.length > 4096) return this.#bad('a chunk line longer than 4096 bytes');
          continue;
        }
        const line = this.#line.replace(/\r?\n$/, '');
        this.#line = '';
        if (this.#state === 'trailer') {
          if (line === '') this.#end(true);
          continue;
        }
        const size = /^([0-9a-fA-F]{1,12})(;.*)?$/.exec(line);
        if (!size) return this.#bad(`a bad chunk size line: ${JSON.stringify(line.slice(0, 40))}`);
        this.#remaining = parseInt(size[1]!, 16);
        this.#state = this.#remaining === 0 ? 'trailer' : 'data';
      }
    }
  }

  #bad(what: string): void {
    this.fail(badAnswer(what));
  }

  #end(reusable: boolean): void {
    if (this.#state === 'end') return;
    this.#state = 'end';
    this.stream.push(null);
    this.#finished(reusable);
  }
}
