import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { FIFOSet, FifoWriter, newFIFOSet, openFifo, openFifoFd, openFifoWriterFd } from '../../src/fifo/index.js';
import { tmpDir, fdCount } from '../helpers/common.js';

t.setTimeout(30_000);

/** Every way in to an open of `p`: each must refuse before anything is made. */
function opens(p: unknown, mode: unknown, opts: unknown): Array<[string, () => unknown]> {
  return [
    ['openFifo', () => openFifo(p as string, mode as 'r', opts as never)],
    ['openFifoFd', () => openFifoFd(p as string, mode as 'r', opts as never)],
    ...(mode === 'w' ? [
      ['FifoWriter', () => new FifoWriter(p as string, opts as never)],
      ['openFifoWriterFd', () => openFifoWriterFd(p as string, opts as never)],
    ] as Array<[string, () => unknown]> : []),
  ];
}

/** Runs `fn` and returns what it threw or rejected with (null when it did neither). */
async function failure(fn: () => unknown): Promise<{ code?: string; message: string } | null> {
  try {
    await fn();
    return null;
  } catch (err) {
    return err as { code?: string; message: string };
  }
}

async function refuses(t: Test, dir: string, p: unknown, mode: unknown, opts: unknown, code: string, message: RegExp): Promise<void> {
  for (const [name, fn] of opens(p, mode, opts)) {
    const err = await failure(fn);
    t.match(err, { code, message }, `${name}(${inspect(p)}, ${inspect(mode)}, ${inspect(opts)})`);
  }
  t.same(fs.readdirSync(dir), [], 'nothing made');
}

t.test('a FIFO path that is no string, empty or holds a NUL is refused before mkfifo', async (t) => {
  const dir = tmpDir(t);
  const before = fdCount();
  for (const mode of ['r', 'w', 'rw']) {
    for (const p of [42, 0x7fff0000, null, undefined, {}, Buffer.from('/tmp/x')]) {
      await refuses(t, dir, p, mode, { create: true }, 'ERR_INVALID_ARG_TYPE', /^a FIFO path must be a path \(a string\), got /);
    }
    await refuses(t, dir, '', mode, { create: true }, 'ERR_INVALID_ARG_VALUE', /got ""$/);
    await refuses(t, dir, path.join(dir, 'cut\0rest'), mode, { create: true }, 'ERR_INVALID_ARG_VALUE', /cut\\u0000rest/);
  }
  t.equal(fdCount(), before, 'no fd left');
});

t.test('a mode is one of r, w, rw: inherited keys are no modes', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'f');
  const before = fdCount();
  for (const mode of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'x', '', 1, null]) {
    for (const [name, fn] of opens(p, mode, { create: true })) {
      t.match(await failure(fn), { code: 'ERR_INVALID_ARG_VALUE', message: /^invalid FIFO mode / }, `${name} ${String(mode)}`);
    }
  }
  t.same(fs.readdirSync(dir), [], 'nothing made');
  t.equal(fdCount(), before, 'no fd left');
});

t.test('perm is an integer 0..0o777, and the options an object', async (t) => {
  const dir = tmpDir(t);
  const p = path.join(dir, 'f');
  const before = fdCount();
  for (const perm of [0o7777, 0o4600, 0o1000, -1, 1.5, NaN, Infinity]) {
    await refuses(t, dir, p, 'r', { create: true, perm }, 'ERR_INVALID_ARG_VALUE', /^perm must be an integer from 0 to 0o777, got /);
  }
  for (const perm of ['abc', '600', null, 600n]) {
    await refuses(t, dir, p, 'w', { create: true, perm }, 'ERR_INVALID_ARG_TYPE', /^perm must be a number, got /);
  }
  await refuses(t, dir, p, 'w', null, 'ERR_INVALID_ARG_TYPE', /options must be an object, got null/);
  await refuses(t, dir, p, 'r', 'x', 'ERR_INVALID_ARG_TYPE', /options must be an object, got "x"/);
  await refuses(t, dir, p, 'w', { create: 'yes' }, 'ERR_INVALID_ARG_TYPE', /^create must be a boolean, got "yes"/);
  await refuses(t, dir, p, 'w', { create: true, signal: 'stop' }, 'ERR_INVALID_ARG_TYPE', /signal must be an AbortSignal, got "stop"/);
  t.equal(fdCount(), before, 'no fd left');
  // What is allowed still works, and the permission bits are the ones asked for (less the umask).
  const fd = openFifoFd(p, 'r', { create: true, perm: 0o640 });
  fs.closeSync(fd);
  t.equal(fs.lstatSync(p).mode & 0o7777, 0o640 & ~process.umask());
});

t.test('a FIFO set is checked where it is made: paths, terminal, close', async (t) => {
  const good = { terminal: false, stdin: '', stdout: '/tmp/out', stderr: '' };
  t.doesNotThrow(() => newFIFOSet(good));
  t.doesNotThrow(() => newFIFOSet({ ...good, stdin: '/tmp/in', stderr: 'relative/err' }, async () => {}));
  const cases: Array<[unknown, string, RegExp]> = [
    [null, 'ERR_INVALID_ARG_TYPE', /config must be an object .*got null/],
    ['x', 'ERR_INVALID_ARG_TYPE', /config must be an object .*got "x"/],
    [{ ...good, terminal: 'no' }, 'ERR_INVALID_ARG_TYPE', /^config\.terminal must be a boolean, got "no"/],
    [{ ...good, terminal: undefined }, 'ERR_INVALID_ARG_TYPE', /^config\.terminal/],
    [{ ...good, stdout: 42 }, 'ERR_INVALID_ARG_TYPE', /^config\.stdout must be a path \(a string\), got 42/],
    [{ ...good, stderr: null }, 'ERR_INVALID_ARG_TYPE', /^config\.stderr .*got null/],
    [{ ...good, stdin: undefined }, 'ERR_INVALID_ARG_TYPE', /^config\.stdin .*got undefined/],
    [{ ...good, stdin: '/tmp/x/cut\0rest' }, 'ERR_INVALID_ARG_VALUE', /^config\.stdin .*cut\\u0000rest/],
  ];
  for (const [config, code, message] of cases) {
    t.throws(() => newFIFOSet(config as never), { code, message });
    t.throws(() => new FIFOSet(config as never), { code, message });
  }
  t.throws(() => newFIFOSet(good, 'x' as never), { code: 'ERR_INVALID_ARG_TYPE', message: /close must be a function, got "x"/ });
});
