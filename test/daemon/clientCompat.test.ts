import t from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { DaemonClient } from '../../src/daemon/index.js';
import { Collector } from '../helpers/common.js';

// A daemon started before an upgrade of the package keeps serving the older API. Its answers are
// reproduced here byte for byte by a node:http server: what the test checks is the client's side.
t.test('fake older daemon (one from before exit=1 cannot run from this checkout) refuses it: createAttached asks again without it and the exit is null (the caller asks wait)', { timeout: 30_000 }, async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-compat-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const urls: string[] = [];
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    urls.push(req.url ?? '');
    if (/[?&]detachKeys=bogus/.test(req.url ?? '')) {
      const body = JSON.stringify({ code: 'ERR_INVALID_FIELD', message: 'invalid detach keys "bogus"' });
      return void socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    if (/[?&]exit=/.test(req.url ?? '')) {
      const body = JSON.stringify({ code: 'ERR_UNKNOWN_FIELD', message: 'unknown query parameter "exit" (known: stdin, stdout, stderr, logs, detachKeys, stdinOnce)' });
      return void socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    const frame = Buffer.from([1, 0, 0, 0, 0, 0, 0, 3]);
    socket.end(Buffer.concat([Buffer.from('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nTaskio-Task-Id: old1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'), frame, Buffer.from('hi\n')]));
  });
  server.listen(path.join(root, 'taskio.sock'));
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const c = new DaemonClient(root, { start: false });
  t.teardown(() => c.close());
  const out = new Collector();
  const a = await c.createAttached({ runtime: 'host', args: ['true'] }, { stdout: out, logs: true, exit: true });
  t.equal(a.id, 'old1');
  t.equal(await a.done, 'exited');
  t.equal(out.text(), 'hi\n');
  t.equal(await a.exit, null, 'no exit frame from that daemon');
  t.equal(urls.length, 2, 'asked twice');
  t.match(urls[0], /exit=1/);
  t.notMatch(urls[1], /exit=/);
  // Any other refusal is the caller's, asked once.
  urls.length = 0;
  await t.rejects(c.createAttached({ runtime: 'host', args: ['true'] }, { stdout: out, logs: true, exit: true, detachKeys: 'bogus' }), { code: 'ERR_INVALID_FIELD', message: /bogus/ });
  t.equal(urls.length, 1);
});
