import t, { type Test } from 'tap';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { PassThrough } from 'node:stream';
import { HostRuntime } from '../../../src/runtime/host/index.js';
import { Init } from '../../../src/runtime/proc/index.js';
import { procSuite } from '../proc/suite.js';
import { newCreator, withFIFODir, withStreams, type IO } from '../../../src/attach/index.js';
import { processState } from '../../../src/runtime/reaper/index.js';
import { Collector, fdCount, fdsUnder, testFile, untilBytes } from '../../helpers/common.js';
import { processesMentioning, waitFor } from '../../fixtures/oci.js';
import { JobObject } from '../../../src/runtime/jobobject/index.js';
import { isAlive } from '../../../src/pidAlive.js';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-host-test-'));
const runtime = new HostRuntime();
let n = 0;

procSuite(t, {
  name: 'host', runtime, base,
  skip: { checkpoint: 'the host backend cannot checkpoint (ERR_NOT_SUPPORTED, tested below)' },
  async bundle(name, opts) {
    // Only config.json: the host runs `process.args` with the host's own binaries.
    const dir = path.join(base, 'bundles', `${name}-${n++}`);
    fs.mkdirSync(dir, { recursive: true });
    const env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...(opts.terminal ? ['TERM=xterm'] : [])];
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { terminal: opts.terminal ?? false, args: opts.args, env, cwd: dir } }));
    return dir;
  },
  id: (name) => `${name}-${n++}-${crypto.randomBytes(3).toString('hex')}`,
});

t.test('host: checkpoint and restore are not supported, kill of a created task is refused', { timeout: 60_000 }, async (t) => {
  const dir = path.join(base, 'unsupported');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ process: { args: ['sleep', '1000'], env: ['PATH=/bin:/usr/bin'], cwd: '/' } }));
  const init = new Init('unsupported', runtime, { stdin: '', stdout: '', stderr: '', terminal: false });
  await init.create({ id: 'unsupported', bundle: dir, terminal: false, stdin: '', stdout: '', stderr: '' });
  await t.rejects(init.kill('TERM'), { code: 'ERR_INVALID_STATE' });
  await init.start();
  await t.rejects(init.checkpoint({ imagePath: path.join(dir, 'img') }), { code: 'ERR_NOT_SUPPORTED' });
  await init.pause();
  t.equal(await init.status(), 'paused');
  await init.resume();
  await init.kill('KILL');
  await init.wait();
  t.equal(init.exitStatus(), 137);
  await init.delete();
});

t.test('host: a missing command fails at start with ENOENT naming it', { timeout: 60_000 }, async (t) => {
  const dir = path.join(base, 'missing');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ process: { args: ['/no/such/command'], env: [], cwd: '/' } }));
  const init = new Init('missing', runtime, { stdin: '', stdout: '', stderr: '', terminal: false });
  await init.create({ id: 'missing', bundle: dir, terminal: false, stdin: '', stdout: '', stderr: '' });
  await t.rejects(init.start(), { code: 'ENOENT', message: /\/no\/such\/command/ });
  await init.delete();
  t.equal(await init.status(), 'deleted');
});

t.test('host: a command that exists but cannot be run fails at start with EACCES naming it', { timeout: 60_000 }, async (t) => {
  for (const [name, args, env] of [['not-executable', ['/etc/passwd'], []], ['directory-on-path', ['bin'], ['PATH=/nowhere:/']]] as const) {
    const dir = path.join(base, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ process: { args, env, cwd: '/' } }));
    const init = new Init(name, runtime, { stdin: '', stdout: '', stderr: '', terminal: false });
    await init.create({ id: name, bundle: dir, terminal: false, stdin: '', stdout: '', stderr: '' });
    await t.rejects(init.start(), { code: 'EACCES', message: new RegExp(args[0]) }, `${args[0]}: EACCES`);
    await init.delete();
  }
});

t.test('host: state() follows the task through one transition table: created, running, paused, stopped', { timeout: 60_000 }, async (t) => {
  const dir = path.join(base, 'states');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ process: { args: ['sleep', '1000'], env: ['PATH=/bin:/usr/bin'], cwd: '/' } }));
  const id = `states-${crypto.randomBytes(3).toString('hex')}`;
  const init = new Init(id, runtime, { stdin: '', stdout: '', stderr: '', terminal: false });
  await init.create({ id, bundle: dir, terminal: false, stdin: '', stdout: '', stderr: '' });
  t.equal((await runtime.state(id)).status, 'created');
  await t.rejects(runtime.exec(id, { args: ['true'], cwd: '/' }, {}).then(() => runtime.pause(id)), { code: 'ERR_INVALID_STATE', message: 'cannot pause a created task' });
  await init.start();
  t.equal((await runtime.state(id)).status, 'running');
  await init.pause();
  t.equal((await runtime.state(id)).status, 'paused');
  await t.rejects(runtime.exec(id, { args: ['true'], cwd: '/' }, {}), { code: 'ERR_INVALID_STATE', message: 'cannot exec in a paused task' });
  await init.resume();
  await init.kill('KILL');
  await init.wait();
  t.equal((await runtime.state(id)).status, 'stopped', 'the init\'s exit stops the task');
  await t.rejects(runtime.start(id), { code: 'ERR_INVALID_STATE', message: 'cannot start a stopped task' });
  await init.delete();
  await t.rejects(runtime.state(id), { code: 'ERR_NOT_FOUND' });
});

/** A client for `id` whose stdout is collected, closed with the test. */
async function outputClient(t: Test, id: string): Promise<{ io: IO; out: Collector }> {
  const out = new Collector();
  const io = await newCreator(withFIFODir(path.join(base, 'fifo')), withStreams(undefined, out, new Collector()))(id);
  t.teardown(() => io.close());
  return { io, out };
}

/** A bundle that runs `args` on the host. */
function hostBundle(name: string, args: string[]): string {
  const dir = path.join(base, 'bundles', `${name}-${n++}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ process: { args, env: ['PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin'], cwd: dir } }));
  return dir;
}

/** The pids a task printed, one per line, once `count` of them have arrived; each killed in teardown if the test left it. */
async function printedPids(t: Test, out: Collector, count: number): Promise<number[]> {
  const pids = await waitFor(`${count} pids on stdout`, () => {
    const found = out.text().split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
    return found.length >= count ? found : undefined;
  });
  t.teardown(() => {
    for (const pid of pids) {
      // Only if it is still our sleep: a pid that was reused belongs to someone else.
      if (fs.existsSync(`/proc/${pid}/cmdline`) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep')) process.kill(pid, 'SIGKILL');
    }
  });
  return pids;
}

const gone = (pid: number): true | undefined => processState(pid) === null || undefined;

// A background job that keeps the output open; the same, detached from the session by a double fork
// through setsid with its stdio on /dev/null (a daemon: it holds no output, it must still go).
const leftBehind = {
  'a background job': ['sh', '-c', 'sleep 1000000 & echo $!; exit 3'],
  'a setsid double fork': ['sh', '-c', 'setsid sh -c "sleep 1000000 </dev/null >/dev/null 2>&1 & echo \\$!" & wait; exit 3'],
};

for (const [mode, make] of [
  ['a job object', () => new HostRuntime()],
  ['its sessions (no job object)', () => new HostRuntime({ jobs: false })],
] as const) {
  for (const [what, args] of Object.entries(leftBehind)) {
    // Without a cgroup, nothing ties a process that left the session and lost its parent to the task.
    if (mode !== 'a job object' && what === 'a setsid double fork') continue;
    t.test(`host, owned through ${mode}: the init's exit takes ${what} with it, the output ends, nothing is left`, { timeout: 30_000 }, async (t) => {
      const fds = fdCount();
      const rt = make();
      const id = `orphan-${n++}-${crypto.randomBytes(3).toString('hex')}`;
      const { io, out } = await outputClient(t, id);
      const init = new Init(id, rt, io.config(), { drainTimeout: 1000 });
      t.teardown(() => init.delete().catch(() => undefined));
      const c = io.config();
      await init.create({ id, bundle: hostBundle('orphan', args), terminal: false, stdin: c.stdin, stdout: c.stdout, stderr: c.stderr });
      await init.start();
      const [bg] = await printedPids(t, out, 1);
      await init.wait();
      t.equal(init.exitStatus(), 3, 'the init\'s own status');
      await io.wait();
      t.pass('the output ended: nothing holds the FIFO');
      await waitFor(`${what} to be killed and reaped`, () => gone(bg!));
      await init.delete();
      await io.close();
      t.equal(fdCount(), fds, 'no fd left');
    });
  }
}

t.test('host: kill --all and delete reach what an exec left behind, double-forked out of its session included', { timeout: 30_000 }, async (t) => {
  const fds = fdCount();
  const rt = new HostRuntime();
  const id = `execs-${n++}-${crypto.randomBytes(3).toString('hex')}`;
  const init = new Init(id, rt, { stdin: '', stdout: '', stderr: '', terminal: false }, { drainTimeout: 1000 });
  t.teardown(() => init.delete().catch(() => undefined));
  await init.create({ id, bundle: hostBundle('execs', ['sleep', '1000000']), terminal: false, stdin: '', stdout: '', stderr: '' });
  await init.start();
  const { io, out } = await outputClient(t, `${id}-e`);
  const c = io.config();
  const p = await init.exec(path.join(base, 'exec', id), {
    id: 'e', terminal: false, stdin: '', stdout: c.stdout, stderr: c.stderr,
    spec: { args: ['sh', '-c', 'sleep 1000000 & echo $!; setsid sh -c "sleep 1000000 </dev/null >/dev/null 2>&1 & echo \\$!" & wait $!; exit 0'], cwd: '/', env: ['PATH=/usr/bin:/bin'] },
  });
  await p.start();
  const pids = await printedPids(t, out, 2);
  await p.wait();
  t.equal(p.exitStatus(), 0, 'the exec exited, its children still run');
  t.ok(pids.every((pid) => processState(pid) !== null), 'both still run after the exec exited');
  await init.killAll();
  await init.wait();
  t.equal(init.exitStatus(), 137);
  for (const pid of pids) await waitFor(`pid ${pid} to be killed and reaped`, () => gone(pid));
  await io.wait();
  await p.delete();
  await init.delete();
  await io.close();
  t.equal(fdCount(), fds, 'no fd left');
});

t.test('host: once started, the task host keeps no copy of the task\'s stdio fds; stdin and stdout still work, exec too', { timeout: 30_000 }, async (t) => {
  const id = `childfds-${n++}-${crypto.randomBytes(3).toString('hex')}`;
  const stdin = new PassThrough(), out = new Collector();
  const io = await newCreator(withFIFODir(path.join(base, 'fifo')), withStreams(stdin, out, new Collector()))(id);
  t.teardown(() => io.close());
  const init = new Init(id, runtime, io.config(), { drainTimeout: 1000 });
  t.teardown(() => init.delete().catch(() => undefined));
  const c = io.config();
  const setDir = path.dirname(c.stdout);
  await init.create({ id, bundle: hostBundle('childfds', ['cat']), terminal: false, stdin: c.stdin, stdout: c.stdout, stderr: c.stderr });
  // Created: the task host holds what it will give the process (stdout and stderr opened again).
  t.equal(fdsUnder(setDir).length, 10, 'before start: client 4 (lock, stdout, stderr, stdin), task host 6');
  await init.start();
  // Client: the lock and the stdout copy, the stderr copy, the stdin writer. Task host: the stdout
  // and stderr keep-alives, the stdin reader and its keep-alive writer.
  t.equal(fdsUnder(setDir).length, 8, 'after start: client 4, task host 4');
  stdin.write('through stdin\n');
  await untilBytes(out, 'through stdin\n'.length);
  t.equal(out.text(), 'through stdin\n', 'stdin reaches the task and its output comes back');

  const ex = await outputClient(t, `${id}-e`);
  const ec = ex.io.config();
  const p = await init.exec(path.join(base, 'exec', id), { id: 'e', terminal: false, stdin: '', stdout: ec.stdout, stderr: ec.stderr, spec: { args: ['sh', '-c', 'echo exec; exec sleep 1000'], cwd: '/', env: ['PATH=/usr/bin:/bin'] } });
  await p.start();
  await untilBytes(ex.out, 'exec\n'.length);
  // An exec's output has no keep-alive: once its client's reader is gone it gets EPIPE, not a full pipe.
  t.equal(fdsUnder(path.dirname(ec.stdout)).length, 3, 'an exec running: client 3 (lock, stdout, stderr), task host none');
  await p.kill('KILL');
  await p.wait();
  await ex.io.wait();
  t.equal(ex.out.text(), 'exec\n');
  await p.delete();
  await init.kill('KILL');
  await init.wait();
  await init.delete();
});

t.test('host: start resolves only once the init is in its job, so a kill --all right after start always stops it', { timeout: 60_000 }, async (t) => {
  // The wrapper shell joins the job after the spawn; a start that resolved before that let a
  // kill --all read an empty job, and the command then ran on unsupervised.
  const rt = new HostRuntime();
  for (let i = 0; i < 20; i++) {
    const id = `entered-${n++}-${crypto.randomBytes(3).toString('hex')}`;
    const init = new Init(id, rt, { stdin: '', stdout: '', stderr: '', terminal: false }, { drainTimeout: 1000 });
    t.teardown(() => init.delete().catch(() => undefined));
    await init.create({ id, bundle: hostBundle('entered', ['sleep', '1000000']), terminal: false, stdin: '', stdout: '', stderr: '' });
    await init.start();
    const cgroups = fs.readFileSync(`/proc/${init.pid()}/cgroup`, 'utf8').trim().split('\n');
    t.ok(cgroups.filter((l) => !l.endsWith(':/')).every((l) => l.includes('/taskio/host-')), `start ${i}: every hierarchy it joins is the job's`);
    t.ok(cgroups.some((l) => l.startsWith('0::') && l.includes('/taskio/host-')), `start ${i}: in the job's cgroup2 directory`);
    await init.killAll();
    await init.wait();
    t.equal(init.exitStatus(), 137, `start ${i}: killed by kill --all`);
    await init.delete();
  }
});

t.test('host as a user who cannot make cgroups: the sessions fallback still takes the init\'s background job', { timeout: 30_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-host-nobody-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.chownSync(dir, 65534, 65534);
  const fixture = testFile('runtime/host/fixtures/unprivileged.mjs');
  const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, fixture, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  for await (const chunk of child.stdout!) out += chunk;
  const [code] = (await once(child, 'exit')) as [number | null];
  t.equal(code, 0, 'the fixture ran');
  const r = JSON.parse(out) as { uid: number; status: number; bg: number; bgGone: boolean };
  t.equal(r.uid, 65534, 'as nobody');
  t.equal(r.status, 3, 'the init\'s status');
  t.ok(r.bgGone, `its background job ${r.bg} was killed with it`);
});

t.test('host: the jobs a dead supervisor left are removed by the next one once their processes are gone, not before', { timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-host-orphans-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const left: Array<{ pid: number; job: string }> = [];
  t.teardown(async () => {
    for (const { pid } of left) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    for (const { pid, job } of left) {
      await waitFor(`task ${pid} to die`, () => !isAlive(pid));
      await JobObject.open(job).then((j) => j.close(), () => undefined);
    }
  });
  const supervisor = async (): Promise<{ pid: number; job: string }> => {
    const child = spawn(process.execPath, [testFile('runtime/host/fixtures/orphaned.mjs'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    for await (const chunk of child.stdout!) out += chunk;
    const r = JSON.parse(out) as { pid: number; job: string };
    left.push(r);
    return r;
  };
  const ended = await supervisor();
  const running = await supervisor();
  t.match(ended.job, /^host-\d+-[0-9a-f]{12}$/, 'each task got a job of its own');
  process.kill(ended.pid, 'SIGKILL');
  await waitFor('the first task to die', () => !isAlive(ended.pid));
  const before = await JobObject.names();
  t.ok(before.includes(ended.job) && before.includes(running.job), 'both dead supervisors left their job');
  const next = await supervisor(); // a new supervisor: its first task sweeps
  const after = await JobObject.names();
  t.notOk(after.includes(ended.job), 'the empty one is removed');
  t.ok(after.includes(running.job), 'the one whose task still runs stays (the task may outlive its supervisor)');
  t.ok(after.includes(next.job), "and the new supervisor's own is there");
});

t.test('host: a forced delete racing a start waits for it and kills what it started; what comes after a delete is refused', { timeout: 60_000 }, async (t) => {
  // The delete closed the job under a start still spawning: the start failed with the job's bare
  // "the handle has already been closed".
  const rt = new HostRuntime();
  const marker = `race-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  for (let i = 0; i < 5; i++) {
    const id = `race-${n++}`;
    await rt.create(id, hostBundle('race', ['sh', '-c', `exec -a ${marker} sleep 1000`]), { stdio: ['ignore', 'ignore', 'ignore'] });
    const [start, del] = await Promise.allSettled([rt.start(id), rt.delete(id, { force: true })]);
    t.same([start.status, del.status], ['fulfilled', 'fulfilled'], `round ${i}: the start ran, then the delete`);
    await t.rejects(rt.state(id), { code: 'ERR_NOT_FOUND' }, `round ${i}: gone`);
  }
  t.same(processesMentioning(marker), [], 'no process outlived its task');
  const id = `race-${n++}`;
  await rt.create(id, hostBundle('race', ['true']), { stdio: ['ignore', 'ignore', 'ignore'] });
  const [del, start, again] = await Promise.allSettled([rt.delete(id), rt.start(id), rt.delete(id)]);
  t.equal(del.status, 'fulfilled', 'a created task is deleted');
  t.match(start, { status: 'rejected', reason: { code: 'ERR_INVALID_STATE', message: 'cannot start a deleted task' } }, 'a start queued behind it is refused');
  t.match(again, { status: 'rejected', reason: { code: 'ERR_NOT_FOUND' } }, 'a second delete finds nothing');
});

t.test('host: an exec without a process spec is a typed error', { timeout: 30_000 }, async (t) => {
  const rt = new HostRuntime();
  const id = `nospec-${n++}`;
  await rt.create(id, hostBundle('nospec', ['sleep', '1000']), { stdio: ['ignore', 'ignore', 'ignore'] });
  t.teardown(() => rt.delete(id, { force: true }));
  await rt.start(id);
  for (const bad of [undefined, null, 'sh', { args: 'sh' }]) {
    await t.rejects(rt.exec(id, bad as never, {}), { code: 'ERR_INVALID_ARG_TYPE', message: /^the process of an exec must be an object with args/ }, String(bad));
  }
});
