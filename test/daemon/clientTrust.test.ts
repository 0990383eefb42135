import t, { type Test } from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { once } from 'node:events';
import { connectDaemon } from '../../src/daemon/index.js';
import { tmpDir } from '../helpers/common.js';

/** A server on `<dir>/taskio.sock` that answers every request with `answer`, counting them. */
async function fakeDaemon(t: Test, dir: string, answer: string): Promise<{ requests: () => number }> {
  let n = 0;
  const server = http.createServer((_req, res) => {
    n++;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(answer);
  });
  server.listen(path.join(dir, 'taskio.sock'));
  await once(server, 'listening');
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  return { requests: () => n };
}

t.test('the client refuses a state root others can write to, before it sends anything there', { timeout: 30_000 }, async (t) => {
  const dir = path.join(tmpDir(t, 'taskio-trust-'), 'shared');
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o777);
  const fake = await fakeDaemon(t, dir, JSON.stringify({ version: '6.6.6', apiVersion: '1', root: dir, pid: 1, runtimes: [] }));
  await t.rejects(connectDaemon(dir, { start: false }), { code: 'ERR_UNSAFE_DIR', message: `refusing daemon root ${dir}: it is writable by its group (mode 0777)` });
  t.equal(fake.requests(), 0, 'no request reached the socket');
  // A symlink to a private directory is refused as well: it could be pointed elsewhere.
  const real = tmpDir(t, 'taskio-trust-real-');
  const link = path.join(path.dirname(dir), 'link');
  fs.symlinkSync(real, link);
  await t.rejects(connectDaemon(link, { start: false }), { code: 'ERR_UNSAFE_DIR', message: /it is a symlink/ });
});

t.test('an answer that is not JSON is a typed error naming the request', { timeout: 30_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-trust-cut-');
  await fakeDaemon(t, dir, '{"version":');
  await t.rejects(connectDaemon(dir, { start: false }), { code: 'ERR_DAEMON_RESPONSE', message: /answer to GET \/version is not JSON: "\{\\"version\\":"/ });
});
