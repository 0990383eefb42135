import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { once } from 'node:events';
import { readPidFile } from '../../../src/runtime/oci/pidFile.js';
import { mkfifo } from '../../../src/sys/index.js';
import { fdsUnder, tmpDir } from '../../helpers/common.js';

t.setTimeout(60_000);

t.test('readPidFile: the pid, 0 when missing or empty, and never through a symlink or a FIFO', async (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, 'init.pid');
  t.equal(readPidFile(file), 0, 'missing');
  fs.writeFileSync(file, '');
  t.equal(readPidFile(file), 0, 'empty');
  fs.writeFileSync(file, '4242\n');
  t.equal(readPidFile(file), 4242);
  fs.writeFileSync(file, 'junk');
  t.equal(readPidFile(file), 0, 'not a number');

  const secret = path.join(dir, 'secret');
  fs.writeFileSync(secret, '1');
  const link = path.join(dir, 'link.pid');
  fs.symlinkSync(secret, link);
  t.throws(() => readPidFile(link), { code: 'ERR_NOT_REGULAR_FILE', message: `pid file ${JSON.stringify(link)} is not a regular file (it is a symbolic link)` });

  // A FIFO with no writer: a blocking open would hang here forever.
  const fifo = path.join(dir, 'fifo.pid');
  mkfifo(fifo, 0o600);
  t.throws(() => readPidFile(fifo), { code: 'ERR_NOT_REGULAR_FILE', message: /it is a FIFO/ });
  t.throws(() => readPidFile(dir), { code: 'ERR_NOT_REGULAR_FILE', message: /it is a directory/ });
  // A socket fails the open itself (ENXIO), as a FIFO without a reader does for a writer.
  const sock = path.join(dir, 'sock.pid');
  const server = net.createServer().listen(sock);
  await once(server, 'listening');
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.throws(() => readPidFile(sock), { code: 'ERR_NOT_REGULAR_FILE', message: `pid file ${JSON.stringify(sock)} is not a regular file (it is a socket)` });
  t.same(fdsUnder(dir), [], 'no fd left open');
});
