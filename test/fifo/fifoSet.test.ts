import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { newFIFOSet, newFIFOSetInDir, validateId, openFifoFd } from '../../src/fifo/index.js';
import { tmpDir } from '../helpers/common.js';

t.setTimeout(30_000);

t.test('newFIFOSetInDir makes a fresh 0700 directory and names the FIFOs', async (t) => {
  const root = path.join(tmpDir(t), 'a', 'root');
  const set = await newFIFOSetInDir(root, 'task-1', false);
  t.equal(fs.statSync(root).mode & 0o777, 0o700, 'root made 0700');
  const dir = path.dirname(set.config.stdin);
  t.equal(path.dirname(dir), root);
  t.equal(fs.statSync(dir).mode & 0o777, 0o700);
  t.same(set.config, {
    terminal: false,
    stdin: path.join(dir, 'task-1-stdin'),
    stdout: path.join(dir, 'task-1-stdout'),
    stderr: path.join(dir, 'task-1-stderr'),
  });
  t.same(fs.readdirSync(dir), [], 'the openers make the FIFOs, not the set');
  const other = await newFIFOSetInDir(root, 'task-1', false);
  t.not(path.dirname(other.config.stdin), dir, 'each set gets its own directory');
  await other.close();
  await set.close();
  t.same(fs.readdirSync(root), []);
});

t.test('a relative FIFO directory gives absolute paths: the task host has a cwd of its own', async (t) => {
  const base = tmpDir(t);
  const cwd = process.cwd();
  process.chdir(base);
  t.teardown(() => process.chdir(cwd));
  const set = await newFIFOSetInDir('rel', 'task-r', false);
  t.teardown(() => set.close());
  for (const p of [set.config.stdin, set.config.stdout, set.config.stderr]) {
    t.ok(path.isAbsolute(p), `${p} is absolute`);
    t.ok(p.startsWith(path.join(base, 'rel') + path.sep), `${p} is inside the directory as named from the cwd`);
  }
});

t.test('terminal sets have no stderr', async (t) => {
  const set = await newFIFOSetInDir(tmpDir(t), 'tty', true);
  t.equal(set.config.terminal, true);
  t.equal(set.config.stderr, '');
  await set.close();
});

t.test('close removes the FIFOs it made, then the directory, and is idempotent', async (t) => {
  const root = tmpDir(t);
  const set = await newFIFOSetInDir(root, 'x', false);
  for (const p of [set.config.stdin, set.config.stdout, set.config.stderr]) fs.closeSync(openFifoFd(p, 'rw', { create: true }));
  await Promise.all([set.close(), set.close()]);
  await set.close();
  t.same(fs.readdirSync(root), []);
});

t.test('close removes whichever of its names were made: none, stdout only, or a stderr a terminal set does not name', async (t) => {
  const root = tmpDir(t);
  const none = await newFIFOSetInDir(root, 'none', false);
  const out = await newFIFOSetInDir(root, 'out', false);
  fs.closeSync(openFifoFd(out.config.stdout, 'rw', { create: true }));
  const tty = await newFIFOSetInDir(root, 'tty', true);
  // A caller that ignored terminal mode and made a stderr beside the named FIFOs.
  fs.closeSync(openFifoFd(path.join(path.dirname(tty.config.stdout), 'tty-stderr'), 'rw', { create: true }));
  await Promise.all([none.close(), out.close(), tty.close()]);
  t.same(fs.readdirSync(root), []);
});

t.test('close never removes what it did not make', async (t) => {
  const root = tmpDir(t);
  const set = await newFIFOSetInDir(root, 'x', false);
  const dir = path.dirname(set.config.stdout);
  fs.writeFileSync(path.join(dir, 'not-ours'), 'keep me');
  await set.close();
  t.equal(fs.readFileSync(path.join(dir, 'not-ours'), 'utf8'), 'keep me');
});

t.test('newFIFOSet wraps paths and runs its close once', async (t) => {
  let calls = 0;
  const config = { terminal: false, stdin: '/a', stdout: '/b', stderr: '' };
  const set = newFIFOSet(config, async () => { calls++; });
  config.stdin = '/changed';
  t.equal(set.config.stdin, '/a', 'the set keeps its own copy');
  await Promise.all([set.close(), set.close()]);
  t.equal(calls, 1);
  await newFIFOSet(config).close();
});

t.test('bad ids are refused before anything is made', async (t) => {
  const root = path.join(tmpDir(t), 'root');
  for (const id of ['', '../x', 'a/b', '.hidden', '-dash', 'x'.repeat(77), 'sp ace', 'nul\0', '..']) {
    await t.rejects(newFIFOSetInDir(root, id, false), { code: 'ERR_INVALID_ID', message: new RegExp(JSON.stringify(id).replace(/[.\\[\]/]/g, '\\$&')) }, JSON.stringify(id));
  }
  t.notOk(fs.existsSync(root), 'root not even created');
  t.equal(validateId('A1_b.c-d'), 'A1_b.c-d');
  t.equal(validateId('x'.repeat(76)), 'x'.repeat(76));
  t.throws(() => validateId(42), { code: 'ERR_INVALID_ID' });
});

t.test('a root that is a file fails clearly', async (t) => {
  const file = path.join(tmpDir(t), 'file');
  fs.writeFileSync(file, '');
  await t.rejects(newFIFOSetInDir(file, 'x', false), { code: 'ERR_UNSAFE_DIR', message: new RegExp(`${file}: it is not a directory`) });
});
