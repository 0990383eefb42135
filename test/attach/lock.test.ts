import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { newAttach, newCreator, newDirectIO, newFIFOSet, withFIFODir, withStreams } from '../../src/index.js';
import { Collector, tmpDir, exitOf, repoRoot } from '../helpers/common.js';

t.setTimeout(60_000);

/** Starts a client in another process; resolves with what it printed first ('attached' or a code). */
async function otherClient(t: { teardown(fn: () => unknown): void }, config: { stdin: string; stdout: string; stderr: string }) {
  const child = spawn(process.execPath, [path.join(repoRoot, 'test/helpers/attacher.mjs'), config.stdin, config.stdout, config.stderr], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const [line] = await once(child.stdout!, 'data');
  return { child, said: String(line).trim() };
}

t.test('a second reader in this process fails with EBUSY; after cancel it succeeds', async (t) => {
  const io = await newCreator(withStreams(null, new Collector(), new Collector()), withFIFODir(tmpDir(t)))('one');
  t.teardown(() => io.close());
  const set = newFIFOSet(io.config());
  await t.rejects(newAttach(withStreams(null, new Collector(), null))(set), { code: 'EBUSY', message: /already attached/ });
  await t.rejects(newDirectIO(set), { code: 'EBUSY', message: /already attached/ });
  await t.rejects(newAttach(withStreams(null, null, new Collector()))(set), { code: 'EBUSY' }, 'a stderr-only reader of the set is excluded too');
  io.cancel();
  const again = await newAttach(withStreams(null, new Collector(), null))(set);
  t.pass('attached after the first one detached');
  await again.close();
});

t.test('a writer-only attach (stdin alone) takes no lock', async (t) => {
  const io = await newCreator(withStreams(null, new Collector(), null), withFIFODir(tmpDir(t)))('w');
  t.teardown(() => io.close());
  const { Readable } = await import('node:stream');
  const writer = await newAttach(withStreams(Readable.from([]), null, null))(newFIFOSet({ ...io.config(), stdin: path.join(path.dirname(io.config().stdout), 'w-stdin') }));
  await writer.close();
  t.pass();
});

t.test('a second attach from another process fails with EBUSY, and succeeds after the holder is SIGKILLed', async (t) => {
  const root = tmpDir(t);
  const io = await newCreator(withStreams(null, new Collector(), new Collector()), withFIFODir(root))('x');
  const config = io.config();
  io.cancel(); // detach: the set stays on disk for others
  t.teardown(() => io.close());
  const first = await otherClient(t, config);
  t.equal(first.said, 'attached');
  const second = await otherClient(t, config);
  t.equal(second.said, 'EBUSY');
  t.equal(await exitOf(second.child), 0);
  await t.rejects(newAttach(withStreams(null, new Collector(), null))(newFIFOSet(config)), { code: 'EBUSY' }, 'and from this process');
  first.child.kill('SIGKILL');
  await exitOf(first.child);
  const third = await otherClient(t, config);
  t.equal(third.said, 'attached', 'the kernel dropped the dead holder\'s lock');
  third.child.kill('SIGKILL');
  await exitOf(third.child);
  await io.close();
  t.same(fs.readdirSync(root), [], 'close removed the FIFOs, the lock files and the directory');
});
