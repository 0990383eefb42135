import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot, tmpDir } from '../helpers/common.js';

// The package as a consumer gets it: installed under node_modules/taskio, imported by name, in a
// process of its own (no tap loader: NODE_OPTIONS is dropped), typed through the published .d.ts.

t.setTimeout(290_000);
const opts = { timeout: 150_000 };

const run = promisify(execFile);
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  dependencies: Record<string, string>;
  bin: Record<string, string>;
  version: string;
};
const subpaths = ['taskio', 'taskio/runtime', 'taskio/logs', 'taskio/jobobject', 'taskio/hcs'];
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));

interface Install {
  /** The consumer's directory: holds node_modules/ and the scripts it runs. */
  app: string;
}

/**
 * `src`'s tree made again at `dst`, each file a hard link to its original (a copy where they are on
 * different file systems): the files' paths, which module resolution goes by, are `dst`'s, as with a
 * copy, without copying dist's thousand files for every install. Nothing here writes to them.
 */
function linkTree(src: string, dst: string): void {
  fs.mkdirSync(dst);
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const from = path.join(src, e.name), to = path.join(dst, e.name);
    if (e.isDirectory()) {
      linkTree(from, to);
      continue;
    }
    try {
      fs.linkSync(from, to);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      fs.copyFileSync(from, to);
    }
  }
}

/**
 * Installs taskio into a fresh `node_modules` the way npm lays it out: `linked` links the worktree
 * (dependencies resolve from it); otherwise `dist` (hard-linked, {@link linkTree}) and `package.json` are copied, so taskio's own
 * imports resolve only in this `node_modules`, which holds its dependencies except those in `missing`
 * and, for those in `broken`, a package whose loading throws that message (a binary that does not load).
 */
function install(t: Test, how: { linked?: boolean; missing?: string[]; broken?: Record<string, string> } = {}): Install {
  const app = tmpDir(t, 'taskio-pkg-');
  const nm = path.join(app, 'node_modules');
  fs.mkdirSync(nm);
  fs.symlinkSync(path.join(repoRoot, 'node_modules', '@types'), path.join(nm, '@types'));
  if (how.linked) {
    fs.symlinkSync(repoRoot, path.join(nm, 'taskio'));
    return { app };
  }
  const own = path.join(nm, 'taskio');
  fs.mkdirSync(own);
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(own, 'package.json'));
  linkTree(path.join(repoRoot, 'dist'), path.join(own, 'dist'));
  fs.cpSync(path.join(repoRoot, 'bin'), path.join(own, 'bin'), { recursive: true });
  for (const dep of Object.keys(pkg.dependencies)) {
    if (how.missing?.includes(dep)) continue;
    const reason = how.broken?.[dep];
    if (reason !== undefined) {
      fs.mkdirSync(path.join(nm, dep));
      fs.writeFileSync(path.join(nm, dep, 'package.json'), JSON.stringify({ name: dep, version: '0.0.0', main: 'index.js' }));
      fs.writeFileSync(path.join(nm, dep, 'index.js'), `throw new Error(${JSON.stringify(reason)});\n`);
    } else {
      fs.symlinkSync(path.join(repoRoot, 'node_modules', dep), path.join(nm, dep));
    }
  }
  return { app };
}

/** Runs `script` as an ES module in `app` with the given node flags; resolves with what it printed as JSON. */
async function node<T>(app: string, script: string, flags: string[] = []): Promise<T> {
  const file = path.join(app, `main-${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, script);
  const { stdout } = await run(process.execPath, [...flags, file], { cwd: app, env, timeout: 100_000 });
  return JSON.parse(stdout) as T;
}

/** Prints a thrown error as `{ code, message }` (or `'no error'`), for the scripts below. */
const catcher = `
const failure = async (fn) => {
  try { await fn(); return 'no error'; } catch (e) { return { name: e.name, code: e.code, message: e.message, taskio: e instanceof TaskioError }; }
};`;

t.test('import "taskio" without koffi and node-pty: the pure parts work, native calls throw ERR_NATIVE_MODULE', opts, async (t) => {
  const { app } = install(t, { missing: ['node-pty'], broken: { koffi: 'no prebuilt koffi binary for linux-x64-musl' } });
  const log = path.join(app, 'task.log');
  fs.writeFileSync(log, '2026-03-01T10:00:00.000000001Z stdout F hello\n2026-03-01T10:00:01.000000001Z stderr F world\n');
  const fifo = path.join(app, 'f');
  const out = await node<Record<string, unknown>>(app, `
import { TaskioError, followLog, logURIGenerator, openFifo, parseLogOptions, validateId, HostRuntime } from 'taskio';
${catcher}
const entries = [];
for await (const e of followLog(${JSON.stringify(log)}, { format: 'cri' })) entries.push(e.stream + ':' + e.content.toString());
console.log(JSON.stringify({
  uri: logURIGenerator('file', '/var/log/t.log', { format: 'cri', maxSize: '10MB' }).toString(),
  options: parseLogOptions(new URL('file:///var/log/t.log?format=cri&maxSize=10MB&maxFiles=3')),
  entries,
  id: validateId('web-1'),
  badId: await failure(() => validateId('../x')),
  fifo: await failure(() => openFifo(${JSON.stringify(fifo)}, 'rw', { create: true })),
  fifoAgain: await failure(() => openFifo(${JSON.stringify(fifo)}, 'rw', { create: true })),
  terminal: await failure(() => new HostRuntime().newTerminal()),
}));
`);
  t.equal(out.uri, 'file:///var/log/t.log?format=cri&maxSize=10MB');
  t.match(out.options, { path: '/var/log/t.log', format: 'cri', maxFiles: 3, maxSize: 10 * 1024 * 1024 });
  t.same(out.entries, ['stdout:hello', 'stderr:world']);
  t.equal(out.id, 'web-1');
  t.match(out.badId, { code: 'ERR_INVALID_ID', taskio: true });
  for (const key of ['fifo', 'fifoAgain']) {
    t.match(out[key], { name: 'TaskioError', code: 'ERR_NATIVE_MODULE', taskio: true }, `${key}: typed`);
    t.match(out[key], { message: /libc mkfifo\(\).*koffi.*no prebuilt koffi binary for linux-x64-musl/ }, `${key}: names the call, the module and why`);
  }
  t.match(out.terminal, { code: 'ERR_NATIVE_MODULE', message: /node-pty.*(Cannot find|not found)/ });
  t.notOk(fs.existsSync(fifo), 'the failed call left nothing behind');
});

t.test('importing taskio loads neither execa nor pino: every entry point imports and a copy into a keeping sink works with both broken', opts, async (t) => {
  // They are loaded by what needs them (a runtime command run without a reaping monitor, a daemon or
  // a logging driver given no logger): a program that imports taskio to copy output carries neither
  // in its heap (README, "Copied sinks and V8's garbage collector").
  const { app } = install(t, { broken: { execa: 'execa loaded at import', pino: 'pino loaded at import' } });
  const dir = path.join(app, 'fifos');
  const out = await node<Record<string, unknown>>(app, `
import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { newCreator, withStreams, withFIFODir, Daemon } from 'taskio';
for (const spec of ['taskio/runtime', 'taskio/logs', 'taskio/jobobject', 'taskio/hcs', 'taskio/daemon']) await import(spec);
const sink = new PassThrough();
const chunks = [];
sink.on('data', (c) => chunks.push(c));
const io = await newCreator(withStreams(null, sink, null), withFIFODir(${JSON.stringify(dir)}))('t');
const fd = fs.openSync(io.config().stdout, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
for (let i = 0; i < 100; i++) fs.writeSync(fd, 'line ' + i + '\\n');
fs.closeSync(fd);
await io.wait();
await io.close();
let daemon;
try { await Daemon.start({ root: ${JSON.stringify(path.join(app, 'daemon'))} }); daemon = 'started'; } catch (e) { daemon = e.message; }
console.log(JSON.stringify({ text: Buffer.concat(chunks).toString(), daemon }));
`);
  t.equal(out.text, Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join(''), 'every byte reached the sink');
  t.match(out.daemon, /pino loaded at import/, 'a daemon given no logger is what loads pino');
});

t.test('with process.platform reported as darwin every entry point imports and a libc call throws ERR_PLATFORM_NOT_SUPPORTED', opts, async (t) => {
  const { app } = install(t);
  const darwin = `data:text/javascript,${encodeURIComponent("Object.defineProperty(process, 'platform', { value: 'darwin' });")}`;
  const fifo = path.join(app, 'f');
  const out = await node<Record<string, unknown>>(app, `
${subpaths.map((s, i) => `import * as m${i} from '${s}';`).join('\n')}
const { TaskioError, openFifo, JobObject, hcs } = m0;
${catcher}
console.log(JSON.stringify({
  platform: process.platform,
  sizes: [${subpaths.map((_, i) => `Object.keys(m${i}).length`).join(', ')}],
  fifo: await failure(() => openFifo(${JSON.stringify(fifo)}, 'rw', { create: true })),
  job: await failure(() => JobObject.create({ name: 'taskio-pkg-darwin' })),
  hcs: await failure(() => hcs.System.openComputeSystem('taskio-pkg-darwin')),
}));
`, ['--import', darwin]);
  t.equal(out.platform, 'darwin', 'the seam took effect');
  for (const n of out.sizes as number[]) t.ok(n > 0, 'an entry point with exports');
  t.match(out.fifo, { code: 'ERR_PLATFORM_NOT_SUPPORTED', taskio: true, message: /libc mkfifo\(\) needs Linux; process\.platform is darwin/ });
  t.match(out.job, { code: 'ERR_PLATFORM_NOT_SUPPORTED', message: /darwin/ });
  t.match(out.hcs, { code: 'ERR_PLATFORM_NOT_SUPPORTED', message: /darwin/ });
  t.notOk(fs.existsSync(fifo), 'the failed call left nothing behind');
});

t.test('every subpath imports by package name and gives its part; dist is not reachable around "exports"', opts, async (t) => {
  const { app } = install(t, { linked: true });
  const out = await node<Record<string, Record<string, string> | string>>(app, `
const kinds = async (spec, names) => {
  const m = await import(spec);
  return Object.fromEntries(names.map((n) => [n, typeof m[n]]));
};
let deep;
try { await import('taskio/dist/sys/index.js'); deep = 'imported'; } catch (e) { deep = e.code; }
console.log(JSON.stringify({
  root: await kinds('taskio', ['newCreator', 'newAttach', 'followLog', 'Init', 'JobObject', 'enableCgroupWarmup', 'hcs', 'TaskioError']),
  runtime: await kinds('taskio/runtime', ['Init', 'Process', 'Runsc', 'HostRuntime', 'createIO', 'defaultMonitor', 'createContainer', 'newCreator']),
  logs: await kinds('taskio/logs', ['followLog', 'openLogWriter', 'logURIGenerator', 'parseLogOptions', 'runLoggingDriver', 'Init']),
  jobobject: await kinds('taskio/jobobject', ['JobObject', 'PollIntervalMs', 'cgroupLayout', 'Win32Error', 'enableCgroupWarmup', 'parseLayout']),
  hcs: await kinds('taskio/hcs', ['System', 'Process', 'HcsError', 'ErrPlatformNotSupported', 'unsupportedTransport', 'NotificationWatcher']),
  sameClass: (await import('taskio')).Init === (await import('taskio/runtime')).Init,
  deep,
}));
`);
  t.same(out.root, { newCreator: 'function', newAttach: 'function', followLog: 'function', Init: 'function', JobObject: 'function', enableCgroupWarmup: 'function', hcs: 'object', TaskioError: 'function' });
  t.same(out.runtime, { Init: 'function', Process: 'function', Runsc: 'function', HostRuntime: 'function', createIO: 'function', defaultMonitor: 'object', createContainer: 'function', newCreator: 'undefined' });
  t.same(out.logs, { followLog: 'function', openLogWriter: 'function', logURIGenerator: 'function', parseLogOptions: 'function', runLoggingDriver: 'function', Init: 'undefined' });
  // enableCgroupWarmup: the README names it as the library's switch for the daemon's cgroup warm-up.
  t.same(out.jobobject, { JobObject: 'function', PollIntervalMs: 'number', cgroupLayout: 'function', Win32Error: 'function', enableCgroupWarmup: 'function', parseLayout: 'undefined' });
  t.same(out.hcs, { System: 'function', Process: 'function', HcsError: 'function', ErrPlatformNotSupported: 'object', unsupportedTransport: 'function', NotificationWatcher: 'undefined' });
  t.equal(out.sameClass, true, 'the root and a subpath share one module instance');
  t.equal(out.deep, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
});

t.test('the published .d.ts type-check for a consumer and hide every @internal member', opts, async (t) => {
  const { app } = install(t, { linked: true });
  // Every .d.ts a consumer loads is checked (skipLibCheck: false): taskio's, @types/node's, its
  // dependencies'. TypeScript's own lib files (lib.dom.d.ts…, still loaded, as a consumer has them)
  // are not: they come with the compiler, and checking them took most of tsc's time.
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
      skipLibCheck: false, skipDefaultLibCheck: true, types: ['node'],
    },
    files: ['consumer.ts'],
  }));
  fs.writeFileSync(path.join(app, 'consumer.ts'), `
import { TaskioError, newCreator, withStdio, followLog as rootFollowLog, hcs, type OciState } from 'taskio';
import { Init, Process, ExitSubscription, HostTerminal, Container, ProcessIO, defaultMonitor, type Runtime } from 'taskio/runtime';
import { followLog, openLogWriter, type LogEntry } from 'taskio/logs';
import { JobObject, type JobLimits } from 'taskio/jobobject';
import { System, Process as HcsProcess, unsupportedTransport } from 'taskio/hcs';

export const same: typeof rootFollowLog = followLog;
export const creator = newCreator(withStdio);
export const err: TaskioError = new TaskioError('ERR_X', 'x');
export const state: OciState['status'] = 'running';
export const limits: JobLimits = {};
export async function entries(file: string): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of followLog(file, { format: 'cri' })) out.push(e);
  await (await openLogWriter(file)).close();
  return out;
}
export async function internals(sub: ExitSubscription, sys: System, proc: HcsProcess, exec: Process, term: HostTerminal, io: ProcessIO, rt: Runtime, init: Init, c: Container): Promise<void> {
  await JobObject.create({ name: 'x' });
  await System.createComputeSystem('x', {}, unsupportedTransport());
  void hcs.ErrPlatformNotSupported, defaultMonitor, rt, init, c, io;
  // @ts-expect-error ExitSubscription.deliver is @internal
  sub.deliver;
  // @ts-expect-error ExitSubscription.end is @internal
  sub.end;
  // @ts-expect-error System.transport is @internal
  sys.transport;
  // @ts-expect-error System.resolvedOptions is @internal
  sys.resolvedOptions;
  // @ts-expect-error hcs Process.watch is @internal
  proc.watch;
  // @ts-expect-error Process.running is @internal
  exec.running;
  // @ts-expect-error Process.live is @internal
  exec.live;
  // @ts-expect-error HostTerminal.attach is @internal
  term.attach;
  // @ts-expect-error an hcs Process is made by its System only
  new HcsProcess();
  // @ts-expect-error Process.fromHandle is @internal
  HcsProcess.fromHandle;
}
`);
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = await run(process.execPath, [tsc, '-p', app], { cwd: app, env, timeout: 140_000 })
    .then(({ stdout }) => ({ stdout, code: 0 as number | null }), (e: { stdout: string; code: number | null }) => e);
  t.equal(r.stdout.trim(), '', 'tsc found nothing wrong');
  t.equal(r.code, 0, 'tsc ran to the end and passed');
});

t.test('npm pack publishes dist and src without bench, demo or tests, and every exported file is in it', opts, async (t) => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, env, timeout: 100_000 });
  const [packed] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
  const files = new Set(packed!.files.map((f) => f.path));
  const unwanted = [...files].filter((f) => /^(dist|src)\/(bench|demo)\//.test(f) || /^(test|\.ci|scripts|node_modules)\//.test(f) || f.startsWith('.'));
  t.same(unwanted, [], 'no bench, demo, tests or tooling');
  for (const [key, target] of Object.entries(pkg.exports)) {
    const paths = typeof target === 'string' ? [target] : [target.types, target.default];
    for (const p of paths) t.ok(files.has(p.replace(/^\.\//, '')), `exports ${key}: ${p} is packed`);
  }
  for (const bin of Object.values(pkg.bin)) t.ok(files.has(bin.replace(/^\.\//, '')), `bin ${bin} is packed`);
  t.ok(files.has('dist/logfile/criLogger.js'), 'the example binary:// logger the README names is packed');
  t.ok(files.has('dist/cli/taskio.cjs'), 'the bundle bin/taskio runs is packed');
  t.ok(files.has('src/index.ts'), 'sources are packed, so the source maps resolve');
  t.ok(files.has('README.md') && files.has('package.json'));
});

t.test('the installed taskio command runs the CLI through npm\'s .bin link, without the NODE_EXTRA_CA_CERTS start-up load', opts, async (t) => {
  const { app } = install(t);
  const binDir = path.join(app, 'node_modules', '.bin');
  fs.mkdirSync(binDir);
  fs.symlinkSync(path.join('..', 'taskio', pkg.bin['taskio']!), path.join(binDir, 'taskio'));
  // Node warns at start-up about a CA file it cannot load: the warning shows whether it was loaded.
  const caEnv = { ...env, NODE_EXTRA_CA_CERTS: path.join(app, 'no-such-ca.pem'), PATH: `${path.dirname(process.execPath)}:${env['PATH'] ?? ''}` };
  const direct = await run(process.execPath, [path.join(app, 'node_modules/taskio/dist/cli/main.js'), '--version'], { env: caEnv, timeout: 100_000 });
  t.match(direct.stderr, /extra certs/i, 'run directly, Node loads the CA file at start (the check below can fail)');
  const viaBin = await run(path.join(binDir, 'taskio'), ['--version'], { cwd: app, env: caEnv, timeout: 100_000 });
  t.equal(viaBin.stdout, `${pkg.version}\n`);
  t.equal(viaBin.stderr, '', 'no CA load, no warning');
  const bad = await run(path.join(binDir, 'taskio'), ['run', '--memory', 'a lot', '--', 'true'], { cwd: app, env: caEnv, timeout: 100_000 })
    .then(() => null, (err: { code: number; stderr: string }) => err);
  t.equal(bad?.code, 125, "taskio's own error keeps its exit code through the launcher");
  t.match(bad?.stderr, /^taskio run: .*"a lot"/, 'an argument with a space arrives as one argument');
  t.equal(bad?.stderr.split('\n').filter(Boolean).length, 1, 'one line');
  // Node 20 takes a `--env-file` anywhere in its arguments as its own (exit 9, "node: …: not found").
  const missing = path.join(app, 'no-such.env');
  const envFile = await run(path.join(binDir, 'taskio'), ['run', '--env-file', missing, '--', 'true'], { cwd: app, env: caEnv, timeout: 100_000 })
    .then(() => null, (err: { code: number; stderr: string }) => err);
  t.equal(envFile?.code, 125, '--env-file is the command\'s flag, not Node\'s');
  t.match(envFile?.stderr, new RegExp(`^taskio run: invalid argument "${missing}" for "--env-file" flag: ENOENT`));
});
