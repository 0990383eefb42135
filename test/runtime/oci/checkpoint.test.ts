/**
 * checkpoint → delete → restore with a counter: the restored task goes on counting where it was
 * instead of starting again. runsc only: runc needs CRIU, whose kernel needs are not met everywhere.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { defaultMonitor } from '../../../src/runtime/reaper/index.js';
import { outputPipe, processesMentioning, scratch, stateEntries, waitFor, waitStatus } from '../../fixtures/oci.js';

// The runtime core's reaper takes the sandbox and gofer this process inherits (see oci-suite).
defaultMonitor.start();
t.teardown(() => defaultMonitor.stop());
const s = scratch('runsc');
const rt = s.runtime;
t.teardown(() => {
  const left = { state: stateEntries(s.root), processes: processesMentioning(s.base) };
  fs.rmSync(s.base, { recursive: true, force: true });
  if (left.state.length || left.processes.length) throw new Error(`left behind: ${JSON.stringify(left)}`);
});

const numbers = (text: string) => text.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);

t.test('runsc checkpoint → delete → restore resumes a counter', { timeout: 60_000 }, async (t) => {
  const id = s.id('ckpt');
  t.teardown(async () => {
    await rt.kill(id, 'KILL', { all: true }).catch(() => {});
    await rt.delete(id, { force: true }).catch(() => {});
  });
  const bundle = await s.bundle('ckpt', { args: ['sh', '-c', 'i=0; while :; do echo $i; i=$((i+1)); sleep 0.05; done'] });
  const before = outputPipe(), after = outputPipe();
  t.teardown(() => { before.close(); after.close(); });

  await rt.run(id, bundle, { detach: true, stdio: ['ignore', before.write, 'ignore'] });
  before.closeWrite();
  await waitFor('the counter to reach 5', () => numbers(before.text()).length >= 5);

  const imagePath = path.join(s.base, 'image');
  const t0 = performance.now();
  await rt.checkpoint(id, { imagePath });
  const tCheckpoint = performance.now() - t0;
  t.ok(fs.readdirSync(imagePath).length > 0, 'the image was written');
  await waitStatus(rt, id, 'stopped');
  await rt.delete(id);
  const counted = numbers(await before.ended);
  const last = counted[counted.length - 1]!;

  const t1 = performance.now();
  t.equal(await rt.restore(id, { bundle, imagePath, detach: true, stdio: ['ignore', after.write, 'ignore'] }), 0);
  const tRestore = performance.now() - t1;
  after.closeWrite();
  t.equal((await rt.state(id)).status, 'running');
  await waitFor('the restored counter', () => numbers(after.text()).length >= 2);
  const resumed = numbers(after.text())[0]!;
  t.ok(resumed > 0 && resumed <= last + 2, `resumed at ${resumed} after ${last}, not from 0`);
  t.comment(`checkpoint ${tCheckpoint.toFixed(0)} ms, restore ${tRestore.toFixed(0)} ms`);

  await rt.kill(id, 'KILL', { all: true });
  await waitStatus(rt, id, 'stopped');
  await rt.delete(id);
});

t.test('restore or create of an id that exists fails before runsc can lose the container', { timeout: 30_000 }, async (t) => {
  const id = s.id('dup');
  t.teardown(async () => {
    await rt.kill(id, 'KILL', { all: true }).catch(() => {});
    await rt.delete(id, { force: true }).catch(() => {});
  });
  const bundle = await s.bundle('dup', { args: ['sleep', '1000'] });
  await rt.create(id, bundle);
  await t.rejects(rt.restore(id, { bundle, imagePath: path.join(s.base, 'no-image'), detach: true }), { code: 'ERR_ALREADY_EXISTS' });
  await t.rejects(rt.create(id, bundle), { code: 'ERR_ALREADY_EXISTS' });
  await t.rejects(rt.run(id, bundle, { detach: true }), { code: 'ERR_ALREADY_EXISTS' });
  t.equal((await rt.state(id)).status, 'created', 'the container is still there');
  await rt.delete(id, { force: true });
});

t.test('restore from a missing image fails with the runtime message', { timeout: 30_000 }, async (t) => {
  const id = s.id('noimg');
  t.teardown(async () => {
    await rt.delete(id, { force: true }).catch(() => {});
  });
  const bundle = await s.bundle('noimg', { args: ['sleep', '1000'] });
  const err = await rt.restore(id, { bundle, imagePath: path.join(s.base, 'no-image'), detach: true }).then(() => null, (e: unknown) => e);
  t.match(err, { code: 'ERR_RUNTIME', exitCode: 128, runtimeMessage: /./ });
  t.comment(String((err as Error).message));
});

t.test('runc checkpoint: resumes where CRIU works, else fails with CRIU\'s message', { timeout: 60_000 }, async (t) => {
  // On this machine kind CRIU cannot read the vDSO ("criu failed: type DUMP"); CI kernels may differ.
  const r = scratch('runc');
  t.teardown(() => fs.rmSync(r.base, { recursive: true, force: true }));
  const id = r.id('ckpt');
  t.teardown(async () => {
    await r.runtime.kill(id, 'KILL', { all: true }).catch(() => {});
    await r.runtime.delete(id, { force: true }).catch(() => {});
  });
  const bundle = await r.bundle('ckpt', { args: ['sh', '-c', 'while :; do sleep 0.1; done'] });
  await r.runtime.run(id, bundle, { detach: true });
  const imagePath = path.join(r.base, 'image');
  const err = await r.runtime.checkpoint(id, { imagePath, workPath: path.join(r.base, 'work') }).then(() => null, (e: unknown) => e);
  if (err) {
    t.match(err, { code: 'ERR_RUNTIME', exitCode: 1, runtimeMessage: /criu/i });
    t.comment(`runc checkpoint unavailable here: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  await waitStatus(r.runtime, id, 'stopped');
  await r.runtime.delete(id);
  t.equal(await r.runtime.restore(id, { bundle, imagePath, detach: true, workPath: path.join(r.base, 'work') }), 0);
  t.equal((await r.runtime.state(id)).status, 'running');
});
