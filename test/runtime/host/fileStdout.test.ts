/**
 * A host task (an Init, and a Container on the host backend) whose `file://` stdout names
 * something other than a regular file — a directory, a FIFO with or without a reader, a socket, a
 * symlink — is refused at create with `ERR_NOT_REGULAR_FILE` naming the path and what is there:
 * nothing is followed, written or blocked on, and nothing is left (fd, file, directory, task).
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import { once } from 'node:events';
import { HostRuntime } from '../../../src/runtime/host/index.js';
import { Init } from '../../../src/runtime/proc/index.js';
import { ErrorCode, createContainer, hostBackend } from '../../../src/runtime/container/index.js';
import { openFifoFd } from '../../../src/fifo/index.js';
import { mkfifo } from '../../../src/sys/index.js';
import { fdCount, tmpDir } from '../../helpers/common.js';

const opts = { timeout: 60_000 };
const runtime = new HostRuntime();
const backend = hostBackend({ jobPrefix: `fstdout-${crypto.randomBytes(3).toString('hex')}-` });

/** Something planted at a log path: `plant` makes it under `dir` and returns its path. */
interface Planted {
  /** What the test calls it. */
  name: string;
  /** What the error says is there. */
  what: string;
  plant: (t: Test, dir: string) => Promise<string>;
}

const planted: Planted[] = [
  { name: 'a directory', what: 'a directory', plant: async (_t, dir) => mk(path.join(dir, 'dir.log'), (p) => fs.mkdirSync(p)) },
  // No reader: a blocking open would hold this thread for ever.
  { name: 'a FIFO without a reader', what: 'a FIFO', plant: async (_t, dir) => mk(path.join(dir, 'lonely.log'), (p) => mkfifo(p, 0o600)) },
  // A reader: a plain open would succeed and hand the task a pipe to someone else.
  {
    name: 'a FIFO with a reader',
    what: 'a FIFO',
    plant: async (t, dir) => {
      const p = mk(path.join(dir, 'read.log'), (f) => mkfifo(f, 0o600));
      const reader = openFifoFd(p, 'r');
      t.teardown(() => fs.closeSync(reader));
      return p;
    },
  },
  {
    name: 'a socket',
    what: 'a socket',
    plant: async (t, dir) => {
      const p = path.join(dir, 'sock.log');
      const server = net.createServer().listen(p);
      await once(server, 'listening');
      t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
      return p;
    },
  },
  {
    name: 'a symlink',
    what: 'a symbolic link',
    plant: async (_t, dir) => mk(path.join(dir, 'link.log'), (p) => fs.symlinkSync(path.join(dir, 'precious'), p)),
  },
];

function mk(p: string, make: (p: string) => void): string {
  make(p);
  return p;
}

/** A directory holding a bundle (only config.json: the host runs its own binaries) and a precious file. */
function workDir(t: Test): { dir: string; bundle: string } {
  const dir = tmpDir(t, 'taskio-file-stdout-');
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(bundle);
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ process: { args: ['/bin/echo', 'written'], env: ['PATH=/usr/bin:/bin'], cwd: '/' } }));
  fs.writeFileSync(path.join(dir, 'precious'), 'keep\n');
  return { dir, bundle };
}

/** The names under `dir`, recursively, with their types: what a refused create must leave as it was. */
function tree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => `${path.relative(dir, path.join(e.parentPath, e.name))}:${e.isFile() ? 'f' : e.isDirectory() ? 'd' : 'o'}`).sort();
}

function expected(p: string, what: string): { code: string; message: string } {
  return { code: 'ERR_NOT_REGULAR_FILE', message: `log file ${JSON.stringify(p)} is not a regular file (it is ${what})` };
}

for (const { name, what, plant } of planted) {
  t.test(`Init on the host runtime: a file:// stdout that is ${name} is ERR_NOT_REGULAR_FILE naming it, nothing left`, opts, async (t) => {
    const { dir, bundle } = workDir(t);
    const log = await plant(t, dir);
    const before = { fds: fdCount(), tree: tree(dir) };
    const id = `fs-${crypto.randomBytes(3).toString('hex')}`;
    const stdio = { stdin: '', stdout: `file://${log}`, stderr: `file://${log}`, terminal: false };
    const init = new Init(id, runtime, stdio);
    t.teardown(() => init.delete().catch(() => undefined));
    await t.rejects(init.create({ id, bundle, ...stdio }), expected(log, what));
    await t.rejects(runtime.state(id), { code: 'ERR_NOT_FOUND' }, 'no task made');
    t.equal(fs.readFileSync(path.join(dir, 'precious'), 'utf8'), 'keep\n', 'nothing written through a link');
    t.same(tree(dir), before.tree, 'no file or directory made or removed');
    t.equal(fdCount(), before.fds, 'no fd left');
  });

  t.test(`createContainer on the host backend: a file:// stdout that is ${name} fails ConfigInvalid with ERR_NOT_REGULAR_FILE as its cause, nothing left`, opts, async (t) => {
    const { dir, bundle } = workDir(t);
    const log = await plant(t, dir);
    const stateRoot = path.join(dir, 'state');
    fs.mkdirSync(stateRoot, { mode: 0o700 });
    const before = { fds: fdCount(), tree: tree(dir) };
    const id = `fc-${crypto.randomBytes(3).toString('hex')}`;
    const err = await createContainer({ id, bundle, backend, stateDir: path.join(stateRoot, id), stdio: { stdout: `file://${log}` } }).then(
      (c) => { t.teardown(() => c.destroy()); return null; },
      (e: Error & { cause?: unknown }) => e,
    );
    t.match(err, { code: ErrorCode.ConfigInvalid, message: /log file .* is not a regular file/, cause: expected(log, what) });
    await t.rejects(backend.runtime.state(id), { code: 'ERR_NOT_FOUND' }, 'no task made');
    t.equal(backend.runtime.jobOf(id), undefined, 'no job made');
    t.same(tree(dir), before.tree, 'no state directory, file or directory left');
    t.equal(fs.readFileSync(path.join(dir, 'precious'), 'utf8'), 'keep\n', 'nothing written through a link');
    t.equal(fdCount(), before.fds, 'no fd left');
  });
}
