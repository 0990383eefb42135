/**
 * Every runtime call has a time limit. The hanging runtime is a fake `runc` (a shell script on
 * disk): a real runc cannot be made to hang on demand, so the test name says it is a fake.
 */
import fs from 'node:fs';
import { isAlive } from '../../../src/pidAlive.js';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Runsc, RuntimeError, defaultTimeouts, detectFeatures } from '../../../src/runtime/oci/index.js';
import { fdCount, fdsUnder, tmpDir, until } from '../../helpers/common.js';

const opts = { timeout: 60_000 };

/**
 * A fake runtime that records its pid and its child's, then hangs in `sleep` (a child in its
 * process group that holds its stdout: killing only the script would leave the call waiting).
 */
function hangingRuntime(dir: string): { command: string; pids: () => number[] } {
  const command = path.join(dir, 'runc');
  const pidsFile = path.join(dir, 'pids');
  fs.writeFileSync(command, `#!/bin/sh\necho $$ >> '${pidsFile}'\nsleep 1000 &\necho $! >> '${pidsFile}'\nwait\n`, { mode: 0o755 });
  return {
    command,
    pids: () => (fs.existsSync(pidsFile) ? fs.readFileSync(pidsFile, 'utf8').split('\n').filter(Boolean).map(Number) : []),
  };
}


/** Resolves once every process the fake runtime started is gone (SIGKILL lands asynchronously). */
const allGone = (fake: { pids: () => number[] }) => until(() => fake.pids().every((p) => !isAlive(p)), 10_000, 'the fake runtime\'s processes to die');

/** A bundle that passes taskio's own check (a regular config.json): the fake runtime is what hangs. */
function fakeBundle(dir: string): string {
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(bundle);
  fs.writeFileSync(path.join(bundle, 'config.json'), '{}');
  return bundle;
}

t.test('a fake runtime binary that hangs: every call times out with ERR_RUNTIME_TIMEOUT, its process group is killed, nothing leaks', opts, async (t) => {
  const dir = tmpDir(t, 'taskio-hang-');
  const fake = hangingRuntime(dir);
  const ms = 400;
  const all = Object.fromEntries(Object.keys(defaultTimeouts).map((k) => [k, ms]));
  const rt = new Runsc({ command: fake.command, dialect: 'runc', root: path.join(dir, 'root'), logPath: path.join(dir, 'log.json'), timeouts: all });
  const bundle = fakeBundle(dir);
  // exec's temp dir (its process.json) goes to a directory only this test uses, to be counted.
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(tmp);
  const savedTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  t.teardown(() => { if (savedTmp === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = savedTmp; });
  t.equal(os.tmpdir(), tmp);
  const fds = fdCount();
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['create', () => rt.create('hang-create', bundle)],
    ['start', () => rt.start('hang')],
    ['run', () => rt.run('hang-run', bundle, { detach: true })],
    ['exec', () => rt.exec('hang', { args: ['/bin/true'], cwd: '/' })],
    ['kill', () => rt.kill('hang', 'KILL')],
    ['delete', () => rt.delete('hang', { force: true })],
    ['state', () => rt.state('hang')],
    ['list', () => rt.list()],
    ['ps', () => rt.ps('hang')],
    ['events', () => rt.stats('hang')],
    ['pause', () => rt.pause('hang')],
    ['resume', () => rt.resume('hang')],
    ['checkpoint', () => rt.checkpoint('hang', { imagePath: path.join(dir, 'image') })],
    ['restore', () => rt.restore('hang-restore', { bundle, imagePath: path.join(dir, 'image'), detach: true })],
    // `update` first asks the binary what it can do: the probe is what times out.
    ['version', () => rt.update('hang', {})],
  ];
  const results = await Promise.allSettled(calls.map(([, call]) => call()));
  results.forEach((r, i) => {
    const sub = calls[i]![0];
    t.equal(r.status, 'rejected', `${sub} fails`);
    if (r.status !== 'rejected') return;
    const err = r.reason as RuntimeError;
    t.type(err, RuntimeError, sub);
    t.equal(err.code, 'ERR_RUNTIME_TIMEOUT', sub);
    t.equal(err.timeout, ms, sub);
    const named = sub === 'version' ? '--version' : sub;
    t.match(err.message, `${fake.command} ${named}: timed out after ${ms} ms and was killed`, sub);
    t.equal(err.exitCode, null, sub);
  });
  // Each call's script and its sleep ran, and both are gone.
  t.ok(fake.pids().length > 0, `the fake runtime ran (${fake.pids().length} pids)`);
  await allGone(fake);
  t.pass('no runtime process is left');
  t.equal(fdCount(), fds, 'no fd is left');
  t.same(fdsUnder(dir), []);
  t.same(fs.readdirSync(tmp), [], 'exec\'s temp dir is removed');
});

t.test('a call\'s own timeout wins over the runtime\'s; an aborted attached run kills the group too', opts, async (t) => {
  const dir = tmpDir(t, 'taskio-hang-');
  const fake = hangingRuntime(dir);
  const rt = new Runsc({ command: fake.command, dialect: 'runc', root: path.join(dir, 'root'), logPath: path.join(dir, 'log.json'), timeouts: { state: 600_000 } });
  const err = await rt.state('hang', { timeout: 150 }).catch((e: RuntimeError) => e);
  t.equal((err as RuntimeError).code, 'ERR_RUNTIME_TIMEOUT');
  t.equal((err as RuntimeError).timeout, 150);
  // An attached run lasts as long as its task (no default limit): an abort ends it.
  const ac = new AbortController();
  await allGone(fake);
  const before = fake.pids().length;
  const run = rt.run('hang-attached', fakeBundle(dir), { signal: ac.signal });
  await until(() => fake.pids().length >= before + 2, 10_000, 'the attached run to start');
  ac.abort();
  await t.rejects(run, { name: 'AbortError' });
  await allGone(fake);
});

t.test('the --version probe of a hanging binary times out and is not remembered', opts, async (t) => {
  const dir = tmpDir(t, 'taskio-hang-');
  const fake = hangingRuntime(dir);
  await t.rejects(detectFeatures(fake.command, { timeout: 200 }), { code: 'ERR_RUNTIME_TIMEOUT', message: /--version: timed out after 200 ms/ });
  // Fixed: the next probe asks again.
  fs.writeFileSync(fake.command, '#!/bin/sh\necho "runc version 9.9.9"\n', { mode: 0o755 });
  t.equal((await detectFeatures(fake.command, { timeout: 10_000 })).dialect, 'runc');
  await allGone(fake);
});

t.test('bad time limits are refused before anything runs', opts, async (t) => {
  const dir = tmpDir(t, 'taskio-hang-');
  const fake = hangingRuntime(dir);
  t.throws(() => new Runsc({ command: fake.command, timeouts: { create: -1 } }), { code: 'ERR_INVALID_ARG_VALUE', message: /create.*-1/ });
  t.throws(() => new Runsc({ command: fake.command, timeouts: { creat: 5 } as never }), { code: 'ERR_INVALID_ARG_VALUE', message: /"creat"/ });
  t.throws(() => new Runsc({ command: fake.command, timeouts: 5 as never }), { code: 'ERR_INVALID_ARG_TYPE' });
  const rt = new Runsc({ command: fake.command, dialect: 'runc', root: path.join(dir, 'root'), logPath: path.join(dir, 'log.json') });
  await t.rejects(rt.state('x', { timeout: Number.NaN }), { code: 'ERR_INVALID_ARG_VALUE', message: /state.*NaN/ });
  await t.rejects(rt.kill('x', 'KILL', { timeout: -5 }), { code: 'ERR_INVALID_ARG_VALUE' });
  t.same(fake.pids(), [], 'the runtime never ran');
});

t.test('the defaults leave runsc room on a loaded machine', opts, async (t) => {
  t.ok(defaultTimeouts.create >= 60_000, 'create ≥ 60 s');
  t.ok(defaultTimeouts.run >= 60_000, 'run --detach ≥ 60 s');
  t.ok(defaultTimeouts.start >= 30_000 && defaultTimeouts.delete >= 30_000 && defaultTimeouts.exec >= 30_000);
  t.ok(defaultTimeouts.restore >= 300_000 && defaultTimeouts.checkpoint >= 300_000);
  t.equal(defaultTimeouts.wait, 0, 'wait lasts as long as the task: none');
  t.ok(Object.entries(defaultTimeouts).every(([command, ms]) => command === 'wait' || ms >= 10_000), 'every other ≥ 10 s');
  t.ok(Object.isFrozen(defaultTimeouts));
});
