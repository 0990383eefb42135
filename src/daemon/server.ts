import type net from 'node:net';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { TaskioError } from '../errors.js';
import { withoutApiVersion } from './apiVersionPrefix.js';
import { httpError, rawErrorResponse, unknownRoute } from './httpError.js';

/** Request bodies are capped: the API takes small JSON documents only. */
export const maxBodyBytes = 1 << 20;

/** What a route handler gets. */
export interface RouteContext {
  req: http.IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Aborts when the client goes away before the answer is complete. */
  signal: AbortSignal;
  /** The JSON body (`{}` when empty), read with the 1 MiB cap. */
  body(): Promise<unknown>;
}

/** A normal route: answers with JSON (or 204), or streams into `res` itself and returns nothing. */
export type Handler = (ctx: RouteContext, res: http.ServerResponse) => Promise<{ status?: number; body?: unknown } | void>;

/** An upgrade route: gets the raw connection after the request head (`head` is what followed it). */
export type UpgradeHandler = (ctx: RouteContext, socket: Duplex, head: Buffer) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
  upgrade?: UpgradeHandler;
}

/**
 * The daemon's HTTP/1.1 plumbing on `node:http`: a route table with `:param` segments, JSON bodies
 * capped at 1 MiB, errors as `{"code","message"}` with a fitting status, a signal that aborts when
 * the client disconnects, and routes that take over the connection (`Upgrade`, as Docker's attach).
 */
export class Router {
  readonly #routes: Route[] = [];

  readonly #logger: Logger;

  readonly #apiVersion: number;

  /** `apiVersion`: the API's version, sent as `Api-Version` and taken as a path prefix (`/v1/...`, docker's). */
  constructor(logger: Logger, apiVersion: number) {
    this.#logger = logger;
    this.#apiVersion = apiVersion;
  }

  /** Adds a route; `path` segments starting with `:` are parameters (one path segment each). */
  add(method: string, path: string, handler: Handler, upgrade?: UpgradeHandler): this {
    const names: string[] = [];
    const source = path.split('/').map((seg) => {
      if (!seg.startsWith(':')) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(seg.slice(1));
      return `(?<${seg.slice(1)}>[^/]+)`;
    }).join('/');
    this.#routes.push({ method, pattern: new RegExp(`^${source}$`), handler, ...(upgrade ? { upgrade } : {}) });
    return this;
  }

  #match(method: string, asked: string): { route: Route; params: Record<string, string> } {
    const path = withoutApiVersion(asked, this.#apiVersion);
    const allowed: string[] = [];
    for (const route of this.#routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.groups ?? {})) params[k] = decodePathSegment(v);
      return { route, params };
    }
    // RFC 9110 §15.5.6: a 405 says what the resource takes (`Allow`). docker's (gorilla/mux) sends none.
    if (allowed.length > 0) throw Object.assign(new TaskioError('ERR_METHOD_NOT_ALLOWED', `method ${method} is not allowed on ${asked}`), { allow: allowed });
    throw unknownRoute(method, asked);
  }

  #context(req: http.IncomingMessage, params: Record<string, string>, url: URL, signal: AbortSignal, readBody: () => Promise<unknown>): RouteContext {
    let body: Promise<unknown> | null = null;
    return { req, params, query: url.searchParams, signal, body: () => (body ??= readBody()) };
  }

  /** The `'request'` listener. */
  readonly onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.#respond(req, res, () => readJsonBody(req));
  };

  /**
   * The `'checkContinue'` listener, for a request sent with `Expect: 100-continue`: the `100
   * Continue` goes out only when the route reads the body and its declared length is within the cap,
   * as Go's server (docker's) sends it on the first read. Node's default sent it before routing, so
   * a client sent a body of any size only to be refused (413, an unknown route or task).
   */
  readonly onCheckContinue = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.#respond(req, res, () => readJsonBody(req, () => res.writeContinue()));
  };

  /** Answers a plain request on `res`; `readBody` reads its JSON body. */
  #respond(req: http.IncomingMessage, res: http.ServerResponse, readBody: () => Promise<unknown>): void {
    const abort = new AbortController();
    res.on('close', () => { if (!res.writableFinished) abort.abort(); });
    res.setHeader('Api-Version', String(this.#apiVersion));
    void (async () => {
      try {
        const url = requestUrl(req);
        const { route, params } = this.#match(req.method ?? 'GET', url.pathname);
        const out = await route.handler(this.#context(req, params, url, abort.signal, readBody), res);
        if (res.headersSent) return;
        if (out?.body === undefined) {
          res.writeHead(out?.status ?? 204).end();
          flush(res);
        } else {
          sendJson(res, out.status ?? 200, out.body);
        }
      } catch (err) {
        this.#fail(req, res, err, abort.signal);
      }
    })();
  }

  /** The `'upgrade'` listener: routes with an upgrade handler; other routes answer as to a plain request, refusals an HTTP error on the raw socket. */
  readonly onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const abort = new AbortController();
    socket.on('close', () => abort.abort());
    socket.on('error', () => undefined);
    void (async () => {
      try {
        const url = requestUrl(req);
        const { route, params } = this.#match(req.method ?? 'GET', url.pathname);
        if (!route.upgrade) {
          this.#respondWithoutUpgrade(req, socket, head);
          return;
        }
        await route.upgrade(this.#context(req, params, url, abort.signal, () => readJsonBody(req)), socket, head);
      } catch (err) {
        const { status, body } = httpError(err);
        this.#log(req, status, err, abort.signal);
        if (!socket.destroyed) socket.end(rawErrorResponse(status, body));
      }
    })();
  };

  /**
   * A request that offers an upgrade to a route that takes none — `curl --http2` offers `h2c` on
   * every request — is answered as a plain one, as Go's server (docker's) ignores the offer; the
   * connection closes after it (Node's parser has let go of it). It was a 404 for every such route.
   */
  #respondWithoutUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as net.Socket);
    res.once('finish', () => socket.end());
    // Node's server let go of the connection with its parser, 'drain' too: without this, an answer
    // larger than the socket's buffer (a log) waited for a 'drain' of `res` that never came.
    socket.on('drain', () => res.emit('drain'));
    // Read at once (at most 1 MiB), then the connection is watched as Node's server watches a plain
    // one: the client's end is the request's abort (a wait, a followed log let go), and what more it
    // sends is dropped. Left paused, its end went unseen: the connection and a log stayed open.
    const body = readUpgradeBody(req, socket, head).then((b) => b.body);
    const watch = (): void => {
      socket.on('data', () => undefined).once('end', () => socket.destroy());
      socket.resume();
    };
    body.then(watch, watch);
    this.#respond(req, res, () => body);
  }

  /** The `'connect'` listener: no route tunnels, so a CONNECT gets a 405 (without one, Node drops the connection unanswered). */
  readonly onConnect = (req: http.IncomingMessage, socket: Duplex): void => {
    socket.on('error', () => undefined);
    const err = new TaskioError('ERR_METHOD_NOT_ALLOWED', `method CONNECT is not allowed on ${req.url ?? ''}`);
    this.#log(req, 405, err);
    if (!socket.destroyed) socket.end(rawErrorResponse(405, httpError(err).body));
  };

  #fail(req: http.IncomingMessage, res: http.ServerResponse, err: unknown, gone: AbortSignal): void {
    const { status, body } = httpError(err);
    this.#log(req, status, err, gone);
    if (res.headersSent || gone.aborted) {
      // Mid-stream, or no one left to answer: nothing to say but to end the stream.
      res.destroy();
      return;
    }
    // A body we did not read (too large) would be read into nothing: close the connection instead.
    // A request without one is not complete yet when the route refuses it in the same turn (an
    // unknown route, a bad id): its connection stays for the client's next request.
    if (!req.complete && hasBody(req)) {
      res.setHeader('Connection', 'close');
      lingerOnClose(req.socket);
    }
    const { allow } = err as { allow?: string[] };
    if (allow) res.setHeader('Allow', allow.join(', '));
    sendJson(res, status, body);
  }

  /**
   * Logs a refused or failed request. `gone`: the client left first — its long poll (a wait) or
   * stream ended by it is no failure; each was a 500 'request failed' with a stack in the log.
   */
  #log(req: http.IncomingMessage, status: number, err: unknown, gone?: AbortSignal): void {
    const entry = { method: req.method, url: req.url, status, code: (err as { code?: string })?.code };
    if (gone?.aborted) this.#logger.info(entry, 'the client went away');
    else if (status >= 500) this.#logger.error({ ...entry, err }, 'request failed');
    else this.#logger.info(entry, 'request refused');
  }
}

/** Whether a request comes with a body (RFC 9112 §6.3: a transfer coding or a length above 0). */
function hasBody(req: http.IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** How long a connection refused mid-body may go on sending before it is cut. */
const lingerMs = 2000;

/**
 * A lingering close (as web servers do it): once the answer is written, only our side is shut, and
 * what the client still sends is read and dropped until it closes (at most {@link lingerMs}).
 * Closing at once would make the client's next write fail with `EPIPE`, and Node, like most
 * clients, then throws away the answer it had not read yet.
 */
function lingerOnClose(socket: net.Socket): void {
  socket.destroySoon = function lingeringEnd(this: net.Socket): void {
    this.end();
    this.resume();
    const cut = setTimeout(() => this.destroy(), lingerMs);
    cut.unref();
    this.once('close', () => clearTimeout(cut));
    this.once('end', () => this.destroy());
  };
}

/** Answers with `body` as JSON. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
  flush(res);
}

/**
 * Sends a finished answer now. Node's http corks the socket until a `nextTick`, and a tick queued
 * from a promise continuation runs only once every pending continuation has: a daemon settling a
 * task's exit as it answers (a short `run --rm`) sent its answer 2–4 ms later.
 */
function flush(res: http.ServerResponse): void {
  res.socket?.uncork();
}

/**
 * Reads a request's JSON body, at most {@link maxBodyBytes}; an empty body is `{}`. `willRead` is
 * called once a declared length passed the cap, before the first byte is read (a `100 Continue`).
 * @throws TaskioError `ERR_BODY_TOO_LARGE` (413), `ERR_BAD_JSON` (400).
 */
export function readJsonBody(req: http.IncomingMessage, willRead?: () => void): Promise<unknown> {
  const tooLarge = (): TaskioError => new TaskioError('ERR_BODY_TOO_LARGE', `the request body is larger than ${maxBodyBytes} bytes`);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBodyBytes) return Promise.reject(tooLarge());
  willRead?.();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > maxBodyBytes) {
        // Refused at once; what still comes is read and dropped until the connection closes.
        req.off('data', onData);
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('error', reject);
    req.on('end', () => {
      if (size > maxBodyBytes) return;
      try {
        resolve(parseJsonBody(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
  });
}

/**
 * How deep a body's arrays and objects may nest. No request of the API goes past 4; a body nested
 * thousands deep parses, but every recursive walk of it afterwards (checks, messages that quote it,
 * `JSON.stringify`) overflows the stack.
 */
const maxBodyDepth = 32;

/** A body's JSON; an empty one is `{}`. @throws TaskioError `ERR_BAD_JSON`. */
function parseJsonBody(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw new TaskioError('ERR_BAD_JSON', `the request body is not valid JSON: ${(cause as Error).message}`);
  }
  if (nestsDeeperThan(body, maxBodyDepth)) throw new TaskioError('ERR_BAD_JSON', `the request body nests arrays and objects deeper than ${maxBodyDepth} levels`);
  return body;
}

/** Whether `value` nests deeper than `limit`; walked with a stack of its own, not by recursion. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const todo: [unknown, number][] = [[value, 0]];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    const [v, depth] = next;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(v)) todo.push([child, depth + 1]);
  }
  return false;
}

/**
 * A request's target as a URL. An origin-form target is a path whatever it begins with: resolved
 * against a base, `//host/tasks` (or `/\host/tasks`) would be read as an authority and its path
 * `/tasks` served. An absolute-form target (`http://host/version`) is its path and query.
 */
function requestUrl(req: http.IncomingMessage): URL {
  const target = req.url ?? '/';
  return target.startsWith('/') ? new URL(`http://taskio${target}`) : new URL(target, 'http://taskio');
}

/** A path parameter as sent, `%XX` escapes decoded; a malformed escape is the client's error. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `malformed percent-escape in path segment ${JSON.stringify(segment)}`);
  }
}

/** How long an upgrade request's body may take to arrive, as Node's `requestTimeout` for the others. */
const upgradeBodyMs = 60_000;

/**
 * Reads the JSON body of an upgrade request from its raw connection (Node's parser hands the
 * connection over after the head): `Content-Length` bytes of `head` and what follows it, at most
 * {@link maxBodyBytes}. What came after the body is handed back (`rest`): it is the upgraded
 * protocol's.
 * @throws TaskioError `ERR_LENGTH_REQUIRED` (411) for a chunked body, `ERR_BODY_TOO_LARGE` (413),
 * `ERR_BAD_JSON` (400); `ERR_CONNECTION_CLOSED` when the client left before it sent all of it.
 */
export function readUpgradeBody(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: unknown; rest: Buffer }> {
  if (req.headers['transfer-encoding'] !== undefined) {
    return Promise.reject(new TaskioError('ERR_LENGTH_REQUIRED', 'an upgrade request needs a Content-Length body, not a chunked one'));
  }
  const length = Number(req.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(length) || length < 0) return Promise.reject(new TaskioError('ERR_LENGTH_REQUIRED', `bad Content-Length ${req.headers['content-length']}`));
  if (length > maxBodyBytes) return Promise.reject(new TaskioError('ERR_BODY_TOO_LARGE', `the request body is larger than ${maxBodyBytes} bytes`));
  return new Promise((resolve, reject) => {
    let got = head;
    let late: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      clearTimeout(late);
      socket.off('data', onData);
      socket.off('end', onClose);
      socket.off('close', onClose);
    };
    const done = (): void => {
      cleanup();
      socket.pause();
      try {
        resolve({ body: parseJsonBody(got.subarray(0, length)), rest: got.subarray(length) });
      } catch (err) {
        reject(err);
      }
    };
    const onData = (c: Buffer): void => {
      got = Buffer.concat([got, c]);
      if (got.length >= length) done();
    };
    const onClose = (): void => {
      cleanup();
      reject(new TaskioError('ERR_CONNECTION_CLOSED', 'the client closed the connection before it sent the request body'));
    };
    if (got.length >= length) return done();
    if (socket.readableEnded || socket.destroyed) return onClose();
    // Node times the head only (`headersTimeout`): the body of an upgrade is read here, so timed here.
    late = setTimeout(() => {
      cleanup();
      reject(new TaskioError('ERR_REQUEST_TIMEOUT', `the request body did not arrive within ${upgradeBodyMs / 1000} s`));
    }, upgradeBodyMs);
    socket.on('data', onData);
    // A half-close ('end' without 'close': the HTTP server allows half-open sockets) ends the body too.
    socket.once('end', onClose);
    socket.once('close', onClose);
  });
}
