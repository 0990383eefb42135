/**
 * The Container suite every backend passes: runsc and runc (real binaries, busybox bundles) and the
 * host backend (processes in a job object). Each test file runs it for one backend with its own
 * scratch; the suite's teardown fails when a state entry, a process, an fd or a cgroup is left.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { newCreator, withFIFODir, withStreams, withTerminal, type IO } from '../../../src/attach/index.js';
import { createContainer, ErrorCode, type Container, type ContainerBackend } from '../../../src/runtime/container/index.js';
import { bytesReadable, mkfifo } from '../../../src/sys/index.js';
import { Collector } from '../../helpers/common.js';
import { isGone, leftoversUnder, stateEntries, waitFor } from '../../fixtures/oci.js';

/** What a backend under test provides. */
export interface Subject {
  name: 'runsc' | 'runc' | 'host';
  backend: ContainerBackend;
  /** Removed at the end; nothing of the tests may be left in it, nor a process naming it. */
  base: string;
  /** The runtime's state root (empty at the end), if it has one. */
  root?: string;
  /** A bundle running `args` (busybox rootfs; the host runs `args` on the host). */
  bundle(name: string, opts: { args: string[] }): Promise<string>;
  id(name: string): string;
  /** More leftovers to report (the host's cgroups), checked once every test ended. */
  leftovers?(): string[];
  /** Runs after the leftover check (closing what the subject itself holds). */
  close?(): Promise<void>;
}

const opts = { timeout: 60_000 };

export function containerSuite(t: Test, s: Subject): void {
  const fifoDir = path.join(s.base, 'fifo');
  fs.mkdirSync(fifoDir, { recursive: true });

  t.teardown(async () => {
    const left = {
      ...leftoversUnder(s.base, s.root),
      stateDirs: fs.existsSync(path.join(s.base, 'state')) ? fs.readdirSync(path.join(s.base, 'state')) : [],
      other: s.leftovers?.() ?? [],
    };
    await s.close?.();
    fs.rmSync(s.base, { recursive: true, force: true });
    if (Object.values(left).some((v) => v.length > 0)) throw new Error(`left behind: ${JSON.stringify(left)}`);
  });

  /** A client for a new task: a FIFO set with these streams, closed with the test. */
  const client = async (t: Test, id: string, streams: { stdout?: Collector; stderr?: Collector }): Promise<IO> => {
    const io = await newCreator(withFIFODir(fifoDir), withStreams(undefined, streams.stdout, streams.stderr ?? new Collector()))(id);
    t.teardown(() => io.close());
    return io;
  };

  /** A running container destroyed with the test, whatever happened. */
  const start = async (t: Test, name: string, args: string[], io?: IO): Promise<Container> => {
    const id = s.id(name);
    const c = await createContainer({
      id, bundle: await s.bundle(name, { args }), backend: s.backend, stateDir: path.join(s.base, 'state', id),
      init: { drainTimeout: 1000 }, ...(io ? { stdio: io.config() } : {}),
    });
    t.teardown(async () => {
      await c.destroy().catch(() => undefined);
      await s.backend.runtime.delete(id, { force: true }).catch(() => undefined);
    });
    return c;
  };

  const code = (name: keyof typeof ErrorCode) => ({ code: ErrorCode[name] });

  /** A create that should be refused; should it succeed all the same, its container goes with the test. */
  const createRefused = (t: Test, o: Parameters<typeof createContainer>[0]): Promise<Container> => {
    const made = createContainer(o);
    made.then((c) => t.teardown(() => c.destroy()), () => undefined);
    return made;
  };

  t.test('lifecycle: running → stopped → destroyed, with libcontainer\'s errors', opts, async (t) => {
    const c = await start(t, 'life', ['sleep', '1000']);
    t.equal(c.backend(), s.name);
    t.equal(await c.runState(), 'running');
    t.equal(c.config().id, c.id());
    t.same(c.config().spec.process.args, ['sleep', '1000']);
    t.ok(Object.isFrozen(c.config().spec.process), 'config is read-only');
    t.ok(c.initPid() > 0);
    t.ok((await c.processes()).includes(c.initPid()), `processes ${JSON.stringify(await c.processes())} list the init ${c.initPid()}`);
    const st = await c.stats();
    t.ok(st.pids.current >= 1, `pids ${st.pids.current}`);
    t.ok(st.memory.usage > 0, `memory ${st.memory.usage}`);
    t.ok(st.cpu.usageTotal >= 0, `cpu ${st.cpu.usageTotal}`);

    const waited = c.wait();
    await c.signal(c.initPid(), 'KILL');
    t.equal(await waited, 137);
    t.equal(await c.waitProcess(c.initPid()), 137);
    t.equal(await c.runState(), 'stopped');
    await t.rejects(c.stats(), code('ContainerNotRunning'));
    await t.rejects(c.pause(), code('ContainerNotRunning'));
    await t.rejects(c.startProcess({ args: ['true'] }), code('ContainerNotRunning'));
    await c.signal(c.initPid(), 'TERM'); // a stop signal to a stopped process is a no-op
    await t.rejects(c.signal(c.initPid(), 'HUP'), { code: 'ESRCH' });
    t.same(await c.processes(), []);

    await c.destroy();
    t.equal(await c.runState(), 'destroyed');
    await c.destroy(); // no error once destroyed
    for (const [what, p] of [
      ['processes', c.processes()], ['stats', c.stats()], ['pause', c.pause()], ['resume', c.resume()],
      ['startProcess', c.startProcess({ args: ['true'] })], ['signal', c.signal(1, 'KILL')], ['wait', c.wait()], ['waitProcess', c.waitProcess(1)],
    ] as Array<[string, Promise<unknown>]>) await t.rejects(p, code('ContainerDestroyed'), what);
  });

  t.test('the init\'s exit code and output', opts, async (t) => {
    const id = s.id('exit3');
    const out = new Collector();
    const io = await client(t, id, { stdout: out });
    const c = await start(t, 'exit3', ['sh', '-c', 'echo hi; exit 3'], io);
    t.equal(await c.wait(), 3);
    await c.destroy();
    await io.wait();
    t.equal(out.text(), 'hi\n');
  });

  t.test('startProcess: own stdio and exit status, signal and waitProcess by pid', opts, async (t) => {
    const c = await start(t, 'exec', ['sleep', '1000']);
    const out = new Collector();
    const io = await client(t, `${c.id()}-e`, { stdout: out });
    const cfg = io.config();
    const pid = await c.startProcess({ args: ['sh', '-c', 'echo from exec; exit 7'], stdout: cfg.stdout, stderr: cfg.stderr });
    t.ok(pid > 0 && pid !== c.initPid(), `pid ${pid}`);
    t.equal(await c.waitProcess(pid), 7);
    await waitFor('the exec\'s output', () => out.text() === 'from exec\n');

    const sleeper = await c.startProcess({ args: ['sleep', '1000'] });
    t.ok((await c.processes()).includes(sleeper), 'processes() lists it');
    const status = c.waitProcess(sleeper);
    await c.signal(sleeper, 'TERM');
    t.equal(await status, 143);
    t.equal(await c.runState(), 'running', 'the init is untouched');

    await t.rejects(c.signal(999_999, 'KILL'), { code: 'ESRCH' }, 'a pid that is not the container\'s');
    await t.rejects(c.waitProcess(999_999), { code: 'ECHILD' });
    await t.rejects(c.signal(c.initPid(), 'NOPE'), { code: 'ERR_INVALID_SIGNAL' });
    await t.rejects(c.startProcess({ args: [] }), code('ConfigInvalid'));
    await t.rejects(c.startProcess({ args: ['true'], cwd: 'relative' }), code('ConfigInvalid'));
    await t.rejects(c.startProcess({ args: ['true'], env: ['NOEQUALS'] }), code('ConfigInvalid'));
    // runsc and runc would run `echo a` (a C string ends at the NUL); a null user was a TypeError.
    await t.rejects(c.startProcess({ args: ['echo', 'a\0b'] }), code('ConfigInvalid'));
    await t.rejects(c.startProcess({ args: ['true'], user: null as never }), code('ConfigInvalid'));
    await c.destroy();
  });

  t.test('startProcess with a terminal', opts, async (t) => {
    const c = await start(t, 'ttyexec', ['sleep', '1000']);
    const out = new Collector();
    const io = await newCreator(withFIFODir(fifoDir), withStreams(undefined, out, undefined), withTerminal)(`${c.id()}-tty`);
    t.teardown(() => io.close());
    const cfg = io.config();
    const pid = await c.startProcess({ args: ['sh', '-c', 'test -t 1 && echo on a tty'], terminal: true, stdout: cfg.stdout });
    t.equal(await c.waitProcess(pid), 0);
    await waitFor('the terminal\'s output', () => /on a tty/.test(out.text()));
    await c.destroy();
  });

  t.test('signal reaches a process the init started itself', opts, async (t) => {
    const c = await start(t, 'child', ['sh', '-c', 'sleep 1000 & wait $!; exit $?']);
    const child = await waitFor('the init\'s child', async () => (await c.processes()).find((p) => p !== c.initPid()));
    await c.signal(child, 'KILL');
    t.equal(await c.wait(), 137, 'the init reports its child\'s SIGKILL');
    await c.destroy();
  });

  t.test('the init\'s orphans: gone with it, in a container and on the host alike', opts, async (t) => {
    const c = await start(t, 'orphan', ['sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
    const orphans = await waitFor('both children', async () => {
      const kids = (await c.processes()).filter((p) => p !== c.initPid());
      return kids.length === 2 ? kids : undefined;
    });
    await c.signal(c.initPid(), 'KILL');
    t.equal(await c.wait(), 137);
    // The pid namespace dies with its init; the host backend kills what its init left, as runc does.
    await waitFor('an empty container', async () => (await c.processes()).length === 0);
    if (s.name === 'host') for (const pid of orphans) await waitFor(`orphan ${pid} gone`, () => isGone(pid) || undefined);
    await c.destroy();
  });

  t.test('a call that races the init\'s exit (killed from outside, not reaped yet) fails as once it is reaped, never as a SystemError', opts, async (t) => {
    const stopped = { code: ErrorCode.ContainerNotRunning };
    const ops: Array<[string, (c: Container) => Promise<unknown>, object | null]> = [
      ['stats', (c) => c.stats(), stopped], ['pause', (c) => c.pause(), stopped],
      ['startProcess', (c) => c.startProcess({ args: ['true'] }), stopped],
      ['signal HUP', (c) => c.signal(c.initPid(), 'HUP'), { code: 'ESRCH' }],
      ['signal KILL', (c) => c.signal(c.initPid(), 'KILL'), null], ['processes', (c) => c.processes(), null],
    ];
    for (const [what, op, refusal] of ops) {
      const c = await start(t, 'race', ['sleep', '1000']);
      // The host pid whose exit is the container's (runsc: the sandbox; runc and host: the init).
      const pid = (await s.backend.runtime.state(c.id())).pid;
      process.kill(pid, 'SIGKILL');
      // Spin, not sleep: the event loop must not turn, so the reaper cannot record the exit
      // before the call below is checked against the container's state.
      const deadline = Date.now() + 5000;
      while (!isGone(pid) && Date.now() < deadline);
      t.ok(isGone(pid), `${what}: the init is dead`);
      const r = await op(c).then(() => 'done', (e: unknown) => e);
      // Done (in time, or the host runtime does not look) or refused as for an exited init; stop signals and processes() always done.
      t.match(r, r === 'done' || refusal === null ? 'done' : refusal, what);
      t.equal(await c.wait(), 137, `${what}: the exit is recorded`);
      await c.destroy();
    }
  });

  t.test('pause and resume: frozen output, paused errors, idempotent calls', opts, async (t) => {
    const id = s.id('pause');
    const out = new Collector();
    const io = await client(t, id, { stdout: out });
    const c = await start(t, 'pause', ['sh', '-c', 'while :; do echo x; sleep 0.01; done'], io);
    await waitFor('output', () => out.bytes > 0);
    const pausing = c.pause();
    t.ok(['pausing', 'paused'].includes(await c.runState()));
    await pausing;
    t.equal(await c.runState(), 'paused');
    await c.pause();
    t.ok((await c.processes()).includes(c.initPid()), 'processes() works while paused');
    const st = await c.stats();
    t.ok(st.pids.current >= 1, 'stats() works while paused');
    await t.rejects(c.startProcess({ args: ['true'] }), code('ContainerPaused'));
    await t.rejects(c.signal(c.initPid(), 'KILL'), code('ContainerPaused'));
    // What was written before the freeze arrives first: the FIFO drained (looked at through a read
    // end of its own that reads nothing), then a timer later than the copy's 1 ms gathering of the
    // reads. A fixed wait could end before a busy loop read the last bytes, which then came in the window.
    const probe = fs.openSync(io.config().stdout, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      await waitFor('the FIFO drained', () => bytesReadable(probe) === 0);
    } finally {
      fs.closeSync(probe);
    }
    await new Promise((r) => setTimeout(r, 20));
    const frozenAt = out.bytes;
    await new Promise((r) => setTimeout(r, 200));
    t.equal(out.bytes, frozenAt, 'no output while paused');
    await c.resume();
    t.equal(await c.runState(), 'running');
    await c.resume();
    await waitFor('output after resume', () => out.bytes > frozenAt);
    await c.destroy();
  });

  t.test('destroy of a paused container with running processes leaves nothing', opts, async (t) => {
    const c = await start(t, 'destroy', ['sleep', '1000']);
    const pid = await c.startProcess({ args: ['sleep', '1000'] });
    await c.pause();
    const init = c.wait(), exec = c.waitProcess(pid);
    await c.destroy();
    t.equal(await init, 137, 'pending wait() resolves with the kill');
    t.equal(await exec, 137, 'pending waitProcess() too');
    t.equal(await c.runState(), 'destroyed');
    if (s.root) t.same(stateEntries(s.root).filter((e) => e.includes(c.id())), [], 'no runtime state');
    t.notOk(fs.existsSync(path.join(s.base, 'state', c.id())), 'no pid-file dir');
  });

  t.test('factory errors: IdInUse, InvalidIdFormat, ConfigInvalid; a failure leaves nothing', opts, async (t) => {
    const c = await start(t, 'dup', ['sleep', '1000']);
    const bundle = c.config().bundle;
    await t.rejects(createContainer({ id: c.id(), bundle, backend: s.backend, stateDir: path.join(s.base, 'state', 'dup2') }), code('IdInUse'));
    t.equal(await c.runState(), 'running', 'the live container is untouched');
    for (const bad of ['a/b', '../up', '-flag', '']) {
      await t.rejects(createContainer({ id: bad, bundle, backend: s.backend, stateDir: path.join(s.base, 'state', 'bad') }), code('InvalidIdFormat'), JSON.stringify(bad));
    }
    await t.rejects(createContainer({ id: s.id('nobundle'), bundle: path.join(s.base, 'no-such-bundle'), backend: s.backend }), code('ConfigInvalid'));
    const noArgs = await s.bundle('noargs', { args: ['true'] });
    const spec = JSON.parse(fs.readFileSync(path.join(noArgs, 'config.json'), 'utf8')) as { process: { args: string[] } };
    spec.process.args = [];
    fs.writeFileSync(path.join(noArgs, 'config.json'), JSON.stringify(spec));
    await t.rejects(createContainer({ id: s.id('noargs'), bundle: noArgs, backend: s.backend }), code('ConfigInvalid'));
    // A FIFO planted as config.json: refused at once, not waited on in open(2) for a writer.
    const fifoBundle = path.join(s.base, 'fifo-bundle');
    fs.mkdirSync(fifoBundle, { recursive: true });
    mkfifo(path.join(fifoBundle, 'config.json'));
    await t.rejects(createContainer({ id: s.id('fifobundle'), bundle: fifoBundle, backend: s.backend }), { code: ErrorCode.ConfigInvalid, message: /has a config\.json that is not a regular file/ });
    fs.rmSync(path.join(fifoBundle, 'config.json'));
    // A symlink planted as config.json, pointing at a real spec: refused, never followed.
    fs.symlinkSync(path.join(bundle, 'config.json'), path.join(fifoBundle, 'config.json'));
    await t.rejects(createContainer({ id: s.id('linkbundle'), bundle: fifoBundle, backend: s.backend }), { code: ErrorCode.ConfigInvalid, message: /has a config\.json that is a symlink/ });
    fs.rmSync(fifoBundle, { recursive: true });
    const badIo = s.id('badio');
    await t.rejects(createContainer({ id: badIo, bundle, backend: s.backend, stateDir: path.join(s.base, 'state', badIo), stdio: { stdout: 'relative/log' } }), code('ConfigInvalid'));
    if (s.root) await waitFor('no state of the failed creates', () => stateEntries(s.root!).every((e) => !e.includes(badIo)) || undefined);
    await c.destroy();
  });

  t.test('factory options of the wrong type or value are ConfigInvalid naming the option, and make nothing', opts, async (t) => {
    const bundle = await s.bundle('badopts', { args: ['sleep', '1000'] });
    const bad: Array<[string, Record<string, unknown>, string, RegExp]> = [
      ['bundle', { bundle: 42 }, 'ERR_INVALID_ARG_TYPE', /bundle must be a path \(a string\), got 42/],
      ['stateDir', { stateDir: 5 }, 'ERR_INVALID_ARG_TYPE', /stateDir must be a path/],
      ['backend', { backend: undefined }, 'ERR_INVALID_ARG_TYPE', /backend must be a ContainerBackend/],
      ['stdio', { stdio: '/some/fifo' }, 'ERR_INVALID_ARG_TYPE', /stdio must be an object, got "\/some\/fifo"/],
      // setTimeout holds none of these: each made destroy give up 1 ms after its SIGKILL.
      ...['10s', Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, -1].map((kt): [string, Record<string, unknown>, string, RegExp] => ['killTimeout', { killTimeout: kt }, 'ERR_INVALID_ARG_VALUE', /killTimeout must be a whole number of ms/]),
    ];
    for (const [name, o, cause, message] of bad) {
      const id = s.id('badopts');
      const stateDir = path.join(s.base, 'state', id);
      await t.rejects(createRefused(t, { id, bundle, backend: s.backend, stateDir, ...o } as never), { code: ErrorCode.ConfigInvalid, message, cause: { code: cause } }, `${name}: ${String(Object.values(o)[0])}`);
      t.notOk(fs.existsSync(stateDir), `${name}: no state directory`);
      if (s.root) t.same(stateEntries(s.root).filter((e) => e.includes(id)), [], `${name}: no runtime state`);
    }
  });

  t.test('stdio the caller got wrong (a scheme, a file:// URI or option, a planted log path) is ConfigInvalid at create and at startProcess, and leaves nothing', opts, async (t) => {
    const logs = path.join(s.base, 'logs');
    fs.mkdirSync(logs, { recursive: true });
    t.teardown(() => fs.rmSync(logs, { recursive: true, force: true }));
    const precious = path.join(logs, 'precious');
    fs.writeFileSync(precious, 'keep\n');
    fs.symlinkSync(precious, path.join(logs, 'planted.log'));
    const bad: Array<[string, string, string]> = [
      ['an unknown scheme', 'http://example.com/log', 'ERR_UNKNOWN_STDIO_SCHEME'],
      ['a file:// URI naming a directory', `file://${logs}/`, 'ERR_INVALID_LOG_URI'],
      ['an unknown log option', `file://${logs}/a.log?max-size=1m`, 'ERR_INVALID_LOG_OPTION'],
      ['a symlink planted at the log path', `file://${logs}/planted.log`, 'ERR_NOT_REGULAR_FILE'],
    ];
    const bundle = await s.bundle('badstdio', { args: ['sleep', '1000'] });
    for (const [what, stdout, cause] of bad) {
      const id = s.id('badstdio');
      const made = createRefused(t, { id, bundle, backend: s.backend, stateDir: path.join(s.base, 'state', id), stdio: { stdout } });
      await t.rejects(made, { code: ErrorCode.ConfigInvalid, cause: { code: cause } }, `create: ${what}`);
      t.notOk(fs.existsSync(path.join(s.base, 'state', id)), `create: ${what}: no state directory`);
    }
    const c = await start(t, 'badstdio', ['sleep', '1000']);
    for (const [what, stdout, cause] of bad) {
      await t.rejects(c.startProcess({ args: ['true'], stdout }), { code: ErrorCode.ConfigInvalid, cause: { code: cause } }, `startProcess: ${what}`);
    }
    t.same(fs.readdirSync(path.join(s.base, 'state', c.id())), [], 'no pid file of the refused processes');
    t.equal(fs.readFileSync(precious, 'utf8'), 'keep\n', 'nothing written through the link');
    t.equal(await c.runState(), 'running');
    await c.destroy();
  });

  t.test('calls fired at once run one at a time in call order, each checked against the state the one before left', opts, async (t) => {
    const c = await start(t, 'queue', ['sleep', '1000']);
    const [exec, pause, signal, destroy, stats, pauseAgain] = await Promise.allSettled([
      c.startProcess({ args: ['sleep', '1000'] }), c.pause(), c.signal(c.initPid(), 'KILL'), c.destroy(), c.stats(), c.pause(),
    ]);
    t.equal(exec.status, 'fulfilled', 'startProcess ran first');
    t.equal(pause.status, 'fulfilled');
    t.match(signal, { status: 'rejected', reason: { code: ErrorCode.ContainerPaused } }, 'signal saw the pause');
    t.equal(destroy.status, 'fulfilled', 'destroy thawed and killed');
    t.match(stats, { status: 'rejected', reason: { code: ErrorCode.ContainerDestroyed } }, 'stats saw the destroy');
    t.match(pauseAgain, { status: 'rejected', reason: { code: ErrorCode.ContainerDestroyed } });
    t.equal(await c.runState(), 'destroyed');
    if (exec.status === 'fulfilled') await t.rejects(c.waitProcess(exec.value), { code: ErrorCode.ContainerDestroyed });
  });

  t.test('IdInUse never touches what exists: the live container, its output, a state directory found there', opts, async (t) => {
    const id = s.id('web-1');
    const out = new Collector();
    const io = await client(t, id, { stdout: out });
    const c = await createContainer({
      id, bundle: await s.bundle('web', { args: ['sh', '-c', 'while :; do echo x; sleep 0.02; done'] }), backend: s.backend,
      stateDir: path.join(s.base, 'state', id), init: { drainTimeout: 1000 }, stdio: io.config(),
    });
    t.teardown(() => c.destroy().catch(() => undefined));
    await waitFor('output', () => out.bytes > 0);
    const bundle = c.config().bundle;
    // Concurrent creates of the live id, through other state directories: all refused by the runtime.
    const again = await Promise.allSettled([1, 2, 3].map((n) => createContainer({ id, bundle, backend: s.backend, stateDir: path.join(s.base, 'state', `${id}-again-${n}`) })));
    for (const r of again) t.match(r, { status: 'rejected', reason: { code: ErrorCode.IdInUse } });
    t.same(fs.readdirSync(path.join(s.base, 'state')).filter((e) => e.startsWith(`${id}-again`)), [], 'their state directories removed');
    // A state directory that exists (another container's, or a leftover) is refused and kept as it is.
    const found = path.join(s.base, 'state', s.id('found'));
    fs.mkdirSync(found);
    fs.writeFileSync(path.join(found, 'keep'), 'x');
    await t.rejects(createContainer({ id: path.basename(found), bundle, backend: s.backend, stateDir: found }), { code: ErrorCode.IdInUse, message: /state directory .* already exists/ });
    t.equal(fs.readFileSync(path.join(found, 'keep'), 'utf8'), 'x', 'kept');
    fs.rmSync(found, { recursive: true });
    t.equal(await c.runState(), 'running');
    t.ok((await c.processes()).includes(c.initPid()), 'the init is still there');
    const seen = out.bytes;
    await waitFor('more output', () => out.bytes > seen);
    await c.destroy();
    t.notOk(fs.existsSync(path.join(s.base, 'state', id)), 'destroy removed its state directory');
  });
}
