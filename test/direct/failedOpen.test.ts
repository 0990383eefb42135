import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { newDirectIO, newFIFOSet, newFIFOSetInDir } from '../../src/index.js';
import { tmpDir, fdCount, dirWithPlanted } from '../helpers/common.js';

t.setTimeout(30_000);

// The first open of a process opens a few fds of its own for good (libuv): one first, so that the
// counts below compare like with like.
t.before(async () => {
  const dir = fs.mkdtempSync('/tmp/taskio-warm-');
  await (await newDirectIO(await newFIFOSetInDir(dir, 'warm', false))).close();
  fs.rmSync(dir, { recursive: true, force: true });
});

t.test('a failed open removes the FIFOs it made, and only those', async (t) => {
  const { dir, reg, old } = dirWithPlanted(t);
  const before = fdCount();
  const inDir = (name: string) => path.join(dir, name);
  // stderr a regular file: stdout was made (and locked) first. stdin a FIFO that was there before.
  await t.rejects(newDirectIO(newFIFOSet({ terminal: false, stdin: old, stdout: inDir('out'), stderr: reg })), { code: 'ERR_NOT_FIFO', message: /reg/ });
  t.same(fs.readdirSync(dir).sort(), ['old', 'reg'], 'the FIFO it made is gone, what was there stays');
  // stdin a regular file: refused after both outputs were made and opened.
  await t.rejects(newDirectIO(newFIFOSet({ terminal: false, stdin: reg, stdout: inDir('out'), stderr: inDir('err') })), { code: 'ERR_NOT_FIFO' });
  t.same(fs.readdirSync(dir).sort(), ['old', 'reg']);
  // A directory where the stdout FIFO should be: the stdin made beside it goes too.
  fs.mkdirSync(inDir('sub'));
  await t.rejects(newDirectIO(newFIFOSet({ terminal: false, stdin: inDir('in'), stdout: inDir('sub'), stderr: '' })), { code: 'ERR_NOT_FIFO' });
  t.same(fs.readdirSync(dir).sort(), ['old', 'reg', 'sub']);
  t.ok(fs.lstatSync(old).isFIFO());
  t.equal(fs.readFileSync(reg, 'utf8'), 'x');
  t.equal(fdCount(), before, 'no fd left');
});

t.test('newDirectIO checks its arguments before it makes anything', async (t) => {
  const dir = tmpDir(t);
  const set = newFIFOSet({ terminal: false, stdin: path.join(dir, 'in'), stdout: path.join(dir, 'out'), stderr: '' });
  const before = fdCount();
  for (const bad of [undefined, null, 'set', { config: set.config }]) {
    await t.rejects(newDirectIO(bad as never), { code: 'ERR_INVALID_ARG_TYPE', message: /^newDirectIO needs a FIFOSet/ });
  }
  await t.rejects(newDirectIO(set, null as never), { code: 'ERR_INVALID_ARG_TYPE', message: /options must be an object, got null/ });
  await t.rejects(newDirectIO(set, { signal: 'stop' as never }), { code: 'ERR_INVALID_ARG_TYPE', message: /signal must be an AbortSignal, got "stop"/ });
  t.same(fs.readdirSync(dir), [], 'nothing made');
  t.equal(fdCount(), before, 'no fd left');
});
