import t, { type Test } from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { UnixHttpClient } from '../../src/daemon/unixHttp.js';
import { fdsOf } from './helpers.js';
import { bytesReadable } from '../../src/sys/index.js';

/** A private directory for one test's socket, removed after it. */
function socketPath(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-http-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 's.sock');
}

/** Serves `server` on a fresh socket; `closed` closes it with every connection it has. */
async function listen(t: Test, server: net.Server): Promise<{ sock: string; close(): Promise<void> }> {
  const sock = socketPath(t);
  const conns = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => { conns.add(s); s.once('close', () => conns.delete(s)); });
  server.listen(sock);
  await once(server, 'listening');
  return { sock, close: () => new Promise<void>((resolve) => { for (const s of conns) s.destroy(); server.close(() => resolve()); }) };
}

/** Serves `server` on a fresh socket; closed (with every connection) after the test. */
async function serve(t: Test, server: net.Server): Promise<string> {
  const { sock, close } = await listen(t, server);
  t.teardown(close);
  return sock;
}

/** A server that answers each connection's request with `answer` written in `pieces` (then leaves it open, or ends it). */
function rawServer(answer: Buffer, pieces: number[], end = false): net.Server {
  return net.createServer((s) => {
    s.once('data', async () => {
      let at = 0;
      for (const n of [...pieces, answer.length]) {
        if (at >= answer.length) break;
        s.write(answer.subarray(at, at + n));
        at += n;
        // A separate read on the client side for each piece, without sleeping: the client answers nothing, so wait a turn of the loop.
        await new Promise((r) => setImmediate(r));
      }
      if (end) s.end();
    });
  });
}

function readAll(body: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on('data', (c: Buffer) => chunks.push(c));
    body.once('end', () => resolve(Buffer.concat(chunks)));
    body.once('error', reject);
  });
}

const openFds = (): number => fdsOf(process.pid).filter((f) => f.startsWith('socket:')).length;

t.test('JSON answers, 204s and chunked streams over one kept-alive connection', { timeout: 30_000 }, async (t) => {
  let connections = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      if (req.url === '/json') {
        const text = JSON.stringify({ method: req.method, body, type: req.headers['content-type'] ?? null, length: req.headers['content-length'] ?? null });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
      } else if (req.url === '/empty') {
        res.writeHead(204).end();
      } else {
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
        for (let i = 0; i < 100; i++) res.write(`${JSON.stringify({ i, pad: 'x'.repeat(i * 37) })}\n`);
        res.end();
      }
    });
  });
  server.on('connection', () => connections++);
  const c = new UnixHttpClient(await serve(t, server));
  t.teardown(() => c.close());

  const a = await c.call({ method: 'POST', path: '/json', body: '{"a":1}' });
  t.equal(a.status, 200);
  t.equal(a.headers['content-type'], 'application/json', 'header names in lower case');
  t.same(JSON.parse((await readAll(a.body)).toString()), { method: 'POST', body: '{"a":1}', type: 'application/json', length: '7' });
  const empty = await c.call({ method: 'POST', path: '/empty' });
  t.equal(empty.status, 204);
  t.equal((await readAll(empty.body)).length, 0);
  const stream = await c.call({ method: 'GET', path: '/stream' });
  t.equal(stream.headers['transfer-encoding'], 'chunked');
  const lines = (await readAll(stream.body)).toString().trim().split('\n').map((l) => JSON.parse(l) as { i: number; pad: string });
  t.same(lines.map((l) => l.i), Array.from({ length: 100 }, (_, i) => i), 'every chunk, in order');
  t.ok(lines.every((l) => l.pad.length === l.i * 37));
  const again = await c.call({ method: 'GET', path: '/json' });
  t.same(JSON.parse((await readAll(again.body)).toString()).length, null, 'a GET without a body sends no Content-Length');
  t.equal(connections, 1, 'four calls, one connection');
});

t.test('a chunked body split anywhere is decoded byte for byte, trailers and extensions included', { timeout: 30_000 }, async (t) => {
  const payload = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
  const chunks = [payload.subarray(0, 1), payload.subarray(1, 1000), payload.subarray(1000, 3000)];
  const wire = Buffer.concat([
    Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
    ...chunks.flatMap((ch, i) => [Buffer.from(`${ch.length.toString(16)}${i === 1 ? ';ext=1' : ''}\r\n`), ch, Buffer.from('\r\n')]),
    Buffer.from('0\r\nX-Trailer: yes\r\n\r\n'),
  ]);
  for (const split of [[1], [7, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [50, 3, 999, 2, 1], [wire.length]]) {
    const c = new UnixHttpClient(await serve(t, rawServer(wire, split)));
    const a = await c.call({ method: 'GET', path: '/' });
    t.ok((await readAll(a.body)).equals(payload), `split ${split.slice(0, 4).join(',')}…`);
    c.close();
  }
});

t.test('a kept-alive connection the server closed as it was reused: the call goes out again on a new one', { timeout: 30_000 }, async (t) => {
  let connections = 0;
  const server = http.createServer((req, res) => {
    // The first connection's second request is cut without an answer, as a daemon that closed an
    // idle connection just as the client reused it (its idle timeout, a restart).
    if (req.socket === first && ++firstRequests === 2) return void req.socket.destroy();
    res.writeHead(200, { 'Content-Length': 2 }).end('ok');
  });
  let first: net.Socket | null = null;
  let firstRequests = 0;
  server.on('connection', (s: net.Socket) => { connections++; first ??= s; });
  const c = new UnixHttpClient(await serve(t, server));
  t.teardown(() => c.close());
  t.equal((await readAll((await c.call({ method: 'GET', path: '/' })).body)).toString(), 'ok');
  t.equal((await readAll((await c.call({ method: 'GET', path: '/' })).body)).toString(), 'ok', 'answered on a fresh connection');
  t.equal(connections, 2);
  t.equal(firstRequests, 2, 'the first connection was reused, and cut');
});

t.test('a POST on a reused connection goes out again only when it never reached the server', { timeout: 30_000 }, async (t) => {
  const posts: string[] = [];
  const conns: net.Socket[] = [];
  let cutNext = false;
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') posts.push(req.url!);
    // A daemon that carried the request out and died before it answered.
    if (cutNext) {
      cutNext = false;
      return void req.socket.destroy();
    }
    res.writeHead(200, { 'Content-Length': 2 }).end('ok');
  });
  server.on('connection', (s: net.Socket) => conns.push(s));
  const c = new UnixHttpClient(await serve(t, server));
  t.teardown(() => c.close());
  const ok = async (p: Promise<import('../../src/daemon/unixHttp.js').HttpAnswer>): Promise<string> => (await readAll((await p).body)).toString();
  t.equal(await ok(c.call({ method: 'GET', path: '/' })), 'ok');
  t.equal(conns.length, 1);
  // The server read the POST, then cut the connection: sent again, it would be carried out twice.
  cutNext = true;
  await t.rejects(c.call({ method: 'POST', path: '/tasks/a/start' }), { code: 'ECONNRESET' }, 'the caller gets the cut');
  t.same(posts, ['/tasks/a/start'], 'the POST was not sent again');
  t.equal(conns.length, 1, 'no connection was made for it');
  t.equal(await ok(c.call({ method: 'GET', path: '/' })), 'ok');
  // The server closed the kept connection before the POST was written (its idle timeout, a
  // restart), and the client had not seen the close yet: the write fails, nothing reached the server.
  t.equal(conns.length, 2);
  conns[1]!.destroy();
  t.equal(await ok(c.call({ method: 'POST', path: '/tasks/b/start' })), 'ok', 'sent again on a fresh connection');
  t.same(posts, ['/tasks/a/start', '/tasks/b/start'], 'carried out once');
  t.equal(conns.length, 3);
});

t.test('a daemon that dies with the request unread resets the connection: the same error as a close before the answer', { timeout: 30_000 }, async (t) => {
  // The server never reads: once the request waits in its socket, it closes it (a SIGKILLed daemon).
  const server = net.createServer({ pauseOnConnect: true }, (s) => {
    const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
    const unread = (): void => void (bytesReadable(fd) > 0 ? s.destroy() : setImmediate(unread));
    unread();
  });
  const c = new UnixHttpClient(await serve(t, server));
  t.teardown(() => c.close());
  const err = await c.call({ method: 'POST', path: '/tasks/a/wait' }).then(() => null, (e: unknown) => e as Error & { cause?: Error });
  t.match(err, { code: 'ECONNRESET', message: 'the daemon closed the connection before it answered' });
  t.match(err?.cause, { code: 'ECONNRESET', message: /read ECONNRESET/ }, 'the reset is the cause');
});

t.test('a body cut short fails with ECONNRESET; a body delimited by the close ends with it', { timeout: 30_000 }, async (t) => {
  const cut = new UnixHttpClient(await serve(t, rawServer(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), [], true)));
  const a = await cut.call({ method: 'GET', path: '/' });
  await t.rejects(readAll(a.body), { code: 'ECONNRESET' });
  const closing = new UnixHttpClient(await serve(t, rawServer(Buffer.from('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it'), [20], true)));
  const b = await closing.call({ method: 'GET', path: '/' });
  t.equal((await readAll(b.body)).toString(), 'all of it');
});

t.test('bad answers, a missing socket and an abort are typed errors that leave no connection open', { timeout: 30_000 }, async (t) => {
  const before = openFds();
  const servers: { close(): Promise<void> }[] = [];
  const serveHere = async (server: net.Server): Promise<string> => {
    const l = await listen(t, server);
    servers.push(l);
    return l.sock;
  };
  const notHttp = new UnixHttpClient(await serveHere(rawServer(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'), [])));
  await t.rejects(notHttp.call({ method: 'GET', path: '/' }), { code: 'ERR_DAEMON_RESPONSE', message: /not HTTP\/1\.1: "SSH-2\.0-OpenSSH"/ });
  const badLength = new UnixHttpClient(await serveHere(rawServer(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'), [])));
  await t.rejects(badLength.call({ method: 'GET', path: '/' }), { code: 'ERR_DAEMON_RESPONSE', message: /Content-Length: "-1"/ });
  const badChunk = new UnixHttpClient(await serveHere(rawServer(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'), [])));
  const bc = await badChunk.call({ method: 'GET', path: '/' });
  await t.rejects(readAll(bc.body), { code: 'ERR_DAEMON_RESPONSE', message: /chunk size line: "zz"/ });
  const missing = new UnixHttpClient(path.join(socketPath(t), 'nothing.sock'));
  await t.rejects(missing.call({ method: 'GET', path: '/' }), { code: 'ENOENT' });
  // A server that never answers: the abort ends the call and its connection.
  const silent = new UnixHttpClient(await serveHere(net.createServer(() => undefined)));
  const ac = new AbortController();
  const call = silent.call({ method: 'POST', path: '/tasks', body: '{}', signal: ac.signal });
  setImmediate(() => ac.abort());
  await t.rejects(call, { name: 'AbortError' });
  await t.rejects(silent.call({ method: 'GET', path: '/', signal: ac.signal }), { name: 'AbortError' }, 'an aborted signal sends nothing');
  for (const c of [notHttp, badLength, badChunk, missing, silent]) c.close();
  for (const s of servers) await s.close();
  await new Promise((r) => setImmediate(r));
  t.equal(openFds(), before, 'no socket left open');
});

t.test('an upgrade hands over the connection with the bytes that followed the 101', { timeout: 30_000 }, async (t) => {
  const server = http.createServer((_req, res) => res.writeHead(400).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    if (req.url === '/x') return void socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    t.equal(req.headers['upgrade'], 'tcp');
    t.equal(head.toString(), '{}', 'the request\'s body came after its head');
    // The head and the first stream bytes in one write: they arrive in one read.
    socket.write('HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nX-Task: abc\r\n\r\nfirst');
    socket.on('data', (d: Buffer) => socket.end(`echo:${d.toString()}`));
  });
  const c = new UnixHttpClient(await serve(t, server));
  t.teardown(() => c.close());
  const a = await c.call({ method: 'POST', path: '/tasks', body: '{}', upgrade: true });
  t.equal(a.status, 101);
  t.equal(a.headers['x-task'], 'abc');
  const { socket, head } = a.upgraded!;
  t.equal(head.toString(), 'first', 'what followed the head');
  socket.write('ping');
  t.equal((await readAll(socket)).toString(), 'echo:ping', 'the connection is the caller\'s');
  const refused = await c.call({ method: 'GET', path: '/x', upgrade: true });
  t.equal(refused.status, 400, 'an answer that is no 101 comes back as an answer');
  t.notOk(refused.upgraded);
});

t.test('an idle kept-alive connection does not keep the process alive', { timeout: 30_000 }, async (t) => {
  const server = http.createServer((_req, res) => res.writeHead(200, { 'Content-Length': 2 }).end('ok'));
  server.keepAliveTimeout = 60_000;
  const sock = await serve(t, server);
  const script = `import { UnixHttpClient } from ${JSON.stringify(new URL('../../src/daemon/unixHttp.js', import.meta.url).href)};
const c = new UnixHttpClient(${JSON.stringify(sock)});
const a = await c.call({ method: 'GET', path: '/' });
a.body.resume();
a.body.on('end', () => process.stdout.write('answered'));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const [code] = await once(child, 'exit');
  t.equal(out, 'answered');
  t.equal(code, 0, 'exited with the connection still open on the server side');
});
