/**
 * Init.runAttached on real runc: `runc run` without `--detach` stays beside the container, and its
 * exit is the container's end — status, output and removal — with nothing left for a delete.
 */
import fs from 'node:fs';
import t, { type Test } from 'tap';
import { newCreator, withFIFODir, withStreams, type IO } from '../../../src/attach/index.js';
import { processesByArgv } from '../../../src/procArgv.js';
import { Init } from '../../../src/runtime/proc/index.js';
import { Collector } from '../../helpers/common.js';
import { leftoversUnder, processesMentioning, scratch, stateEntries, waitFor } from '../../fixtures/oci.js';

const s = scratch('runc');
const fifoDir = `${s.base}/fifo`;
fs.mkdirSync(fifoDir);
t.teardown(() => {
  const left = leftoversUnder(s.base, s.root);
  fs.rmSync(s.base, { recursive: true, force: true });
  if (Object.values(left).some((v) => v.length > 0)) throw new Error(`left behind: ${JSON.stringify(left)}`);
});

const opts = { timeout: 60_000 };

/** A task with a stdout/stderr client, its Init cleaned up with the test whatever happened. */
async function task(t: Test, name: string, args: string[]): Promise<{ id: string; init: Init; io: IO; out: Collector; err: Collector; bundle: string }> {
  const id = s.id(name);
  const out = new Collector();
  const err = new Collector();
  const io = await newCreator(withFIFODir(fifoDir), withStreams(undefined, out, err))(id);
  const init = new Init(id, s.runtime, io.config(), { drainTimeout: 1000 });
  t.teardown(async () => {
    await init.killAll();
    if ((await init.status()) === 'running') await Promise.race([init.wait(), new Promise((r) => setTimeout(r, 3000))]);
    if (!['deleted', 'unknown'].includes(await init.status())) await init.delete().catch(() => undefined);
    await s.runtime.delete(id, { force: true }).catch(() => undefined);
    await io.close();
  });
  return { id, init, io, out, err, bundle: await s.bundle(name, { args }) };
}

const config = (id: string, bundle: string, io: IO) => ({ id, bundle, ...io.config() });

/** The pids of attached `runc run` processes of this file's runtime root. */
const attachedRuncs = (): number[] => processesByArgv((a) => a.includes(s.root) && a.includes('run') && !a.includes('--detach'));

t.test('the exit status and every byte of output; runc removed the container itself', opts, async (t) => {
  const { id, init, io, out, err, bundle } = await task(t, 'out', ['sh', '-c', 'echo hi; echo oops >&2; exit 7']);
  await init.runAttached(config(id, bundle, io));
  t.ok(init.pid() > 0, 'the pid runc wrote');
  await init.wait();
  t.equal(init.exitStatus(), 7);
  t.same(stateEntries(s.root), [], 'no runtime state left once it exited: runc deleted the container');
  await init.delete();
  t.equal(await init.status(), 'deleted');
  await io.wait();
  t.equal(out.text(), 'hi\n');
  t.equal(err.text(), 'oops\n');
});

t.test('running: the runtime process stays beside the container; a kill ends both (137)', opts, async (t) => {
  const { id, init, io, bundle } = await task(t, 'kill', ['sleep', '1000']);
  await init.runAttached(config(id, bundle, io));
  t.equal(await init.status(), 'running');
  t.equal(attachedRuncs().length, 1, 'runc run (attached) is alive');
  t.same(stateEntries(s.root), [id], 'runc knows the container while it runs');
  await t.rejects(init.runAttached(config(id, bundle, io)), { code: 'ERR_INVALID_STATE', message: 'cannot run a running container' });
  await init.kill('KILL');
  await init.wait();
  t.equal(init.exitStatus(), 137);
  await init.delete();
  await waitFor('runc run to end', () => attachedRuncs().length === 0);
  t.same(stateEntries(s.root), []);
});

t.test('the runtime SIGKILLed first: the init, re-parented here, is still reaped and its exit counts', opts, async (t) => {
  const { id, init, io, bundle } = await task(t, 'orphan', ['sleep', '1000']);
  await init.runAttached(config(id, bundle, io));
  const [runc] = attachedRuncs();
  t.ok(runc, 'the attached runc');
  process.kill(runc!, 'SIGKILL');
  await waitFor('runc to be gone', () => !attachedRuncs().includes(runc!));
  t.equal(await init.status(), 'running', 'the container runs on without its runtime');
  await init.kill('KILL');
  await init.wait();
  t.equal(init.exitStatus(), 137, 'the status came from the reaper');
  t.same(stateEntries(s.root), [id], 'the runtime did not remove it: the state stays for delete');
  await init.delete();
  t.same(stateEntries(s.root), [], 'delete ran the runtime delete');
});

t.test('a command that cannot start: the runtime error, state new, nothing left', opts, async (t) => {
  const { id, init, io, bundle } = await task(t, 'missing', ['no-such-command']);
  await t.rejects(init.runAttached(config(id, bundle, io)), { code: 'ERR_RUNTIME', message: /no-such-command/ });
  t.equal(await init.status(), 'unknown');
  t.same(stateEntries(s.root), []);
  t.same(processesMentioning(s.root), []);
});

t.test('a terminal is refused before anything runs', opts, async (t) => {
  const id = s.id('tty');
  const init = new Init(id, s.runtime, { stdin: '', stdout: '', stderr: '', terminal: true });
  const bundle = await s.bundle('tty', { args: ['true'], terminal: true });
  await t.rejects(init.runAttached({ id, bundle, terminal: true, stdin: '', stdout: '', stderr: '' }), { code: 'ERR_INVALID_ARG_VALUE', message: /terminal/ });
  t.equal(await init.status(), 'unknown');
  t.same(stateEntries(s.root), []);
});
