import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { createIO, type ProcessIO } from '../../../src/runtime/stdio/index.js';
import { writeCriLoggerLauncher } from '../../../src/logfile/criLoggerLauncher.js';
import { exitOf, fdCount, repoRoot, tmpDir } from '../../helpers/common.js';
import { runLikeShim } from '../../logfile/fixtures/shimHarness.js';

// The example logging driver as built by `npm run build` (npm test builds first; without a build
// these tests fail on the missing logger, by design).
const logger = path.join(repoRoot, 'dist/logfile/criLogger.js');
const opts = { timeout: 30_000 };

function run(io: ProcessIO, script: string) {
  const child = spawn('/bin/sh', ['-c', script], { stdio: [...io.stdio] });
  io.closeChildFds();
  return exitOf(child);
}

for (const scheme of ['binary', 'binary-v2']) {
  t.test(`${scheme}:// through the example CRI logger and the runtime core's stdio`, opts, async (t) => {
    const dir = tmpDir(t);
    const log = path.join(dir, 'logs', 'task.log');
    const uri = `${scheme}://${logger}?path=${encodeURIComponent(log)}`;
    const before = fdCount();
    const io = await createIO({ terminal: false, stdin: '', stdout: uri, stderr: uri }, { id: 'task-7', namespace: 'default' });
    t.equal(await run(io, 'echo first; echo oops >&2; printf "no newline"'), 0);
    await io.drain();
    await io.close();
    const entries = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' '));
    const by = (s: string) => entries.filter((e) => e[1] === s).map((e) => `${e[2]} ${e.slice(3).join(' ')}`);
    // Ended by an F when the stream ends: the line itself, or an empty F after the P the writer
    // made of it, should the shell have been held off the CPU for 50 ms between its printf and its exit.
    const stdout = by('stdout');
    t.same(stdout.at(-1) === 'F ' ? [stdout[0], `F ${stdout.slice(1, -1).map((e) => e.slice(2)).join('')}`] : stdout, ['F first', 'F no newline'], 'a last line without newline is ended by F when the stream ends');
    t.same(by('stderr'), ['F oops']);
    for (const e of entries) t.ok(!Number.isNaN(Date.parse(e[0]!)), `RFC3339 time ${e[0]}`);
    t.equal(fdCount(), before, 'no fd left');
  });
}

t.test('binary-v2:// with a logger that fails before ready: did not call ready', opts, async (t) => {
  const dir = tmpDir(t);
  // A relative log path makes the example logger fail before it signals ready.
  const uri = `binary-v2://${logger}?path=relative.log`;
  await t.rejects(createIO({ terminal: false, stdin: '', stdout: uri, stderr: uri }, { id: 'bad' }),
    { code: 'ERR_LOGGER_NOT_READY', message: /did not call ready.*relative\.log/s });
  t.same(fs.readdirSync(dir), []);
});

/** Reads a CRI log as `stream tag content` lines. */
function criLines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ').slice(1).join(' '));
}

const launcher = path.join(repoRoot, 'dist/logfile/cri-logger');

t.test('the built launcher names an absolute node and starts with an empty environment (env -i)', opts, async (t) => {
  const shebang = fs.readFileSync(launcher, 'utf8').split('\n')[0]!;
  t.match(shebang, /^#!\//, `${shebang}: an absolute interpreter, no PATH lookup`);
  const node = shebang.slice(2);
  t.equal(fs.realpathSync(node), fs.realpathSync(process.execPath), 'the node that built it');
  t.ok((fs.statSync(launcher).mode & 0o111) !== 0, 'executable');
  const log = path.join(tmpDir(t), 'task.log');
  const r = await runLikeShim({
    logger: '/usr/bin/env',
    args: ['-i', launcher, 'path', log],
    task: ['/bin/sh', '-c', 'echo hello; echo oops >&2'],
    termDelayMs: 0,
  });
  t.same([r.code, r.readyBytes, r.stderr], [0, 1, ''], 'ready byte, exit 0, nothing on stderr');
  t.same(criLines(log), ['stdout F hello', 'stderr F oops']);
});

t.test('a launcher for a node outside env\'s default path starts with env -i', opts, async (t) => {
  const dir = tmpDir(t, 'taskio-launcher-');
  // Where nvm or /opt installs put node: not in /bin:/usr/bin, so `#!/usr/bin/env node` misses it.
  const bin = path.join(dir, 'opt', 'node', 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const node = path.join(bin, 'node');
  fs.symlinkSync(process.execPath, node);
  const file = path.join(dir, 'libexec', 'taskio-cri-logger');
  fs.mkdirSync(path.dirname(file));
  // As the README says to: the built generator, run by hand.
  const printed = execFileSync(process.execPath, [path.join(repoRoot, 'dist/logfile/criLoggerLauncher.js'), file, node], { encoding: 'utf8' });
  t.equal(printed.trim(), file);
  t.equal(fs.readFileSync(file, 'utf8').split('\n')[0], `#!${node}`);
  t.equal(fs.statSync(file).mode & 0o777, 0o755);
  const log = path.join(dir, 'task.log');
  const r = await runLikeShim({ logger: '/usr/bin/env', args: ['-i', file, 'path', log], task: ['/bin/echo', 'from elsewhere'], termDelayMs: 0 });
  t.same([r.code, r.stderr], [0, '']);
  t.same(criLines(log), ['stdout F from elsewhere']);
});

t.test('writeCriLoggerLauncher refuses bad paths with codes and never writes through a symlink', opts, async (t) => {
  const dir = tmpDir(t, 'taskio-launcher-');
  const target = path.join(dir, 'cri-logger');
  t.throws(() => writeCriLoggerLauncher('rel/cri-logger'), { code: 'ERR_INVALID_LOG_PATH', message: /rel\/cri-logger/ });
  t.throws(() => writeCriLoggerLauncher(target, 'node'), { code: 'ERR_INVALID_ARG_VALUE', message: /"node".*absolute/ });
  t.throws(() => writeCriLoggerLauncher(target, '/opt/my node/bin/node'), { code: 'ERR_INVALID_ARG_VALUE', message: /my node.*whitespace/ });
  t.throws(() => writeCriLoggerLauncher(target, `/${'n'.repeat(200)}`), { code: 'ERR_INVALID_ARG_VALUE', message: /longer than a #! line/ });
  const plain = path.join(dir, 'plain');
  fs.writeFileSync(plain, '', { mode: 0o644 });
  t.throws(() => writeCriLoggerLauncher(target, plain), { code: 'ERR_INVALID_ARG_VALUE', message: /plain.*not an executable/ });
  t.throws(() => writeCriLoggerLauncher(target, dir), { code: 'ERR_INVALID_ARG_VALUE', message: /not an executable/ }, 'a directory is not');
  fs.rmSync(plain);
  t.same(fs.readdirSync(dir), [], 'nothing left behind');
  const precious = path.join(dir, 'precious');
  fs.writeFileSync(precious, 'keep\n');
  fs.symlinkSync(precious, target);
  writeCriLoggerLauncher(target);
  t.equal(fs.readFileSync(precious, 'utf8'), 'keep\n', 'the symlink\'s target is untouched');
  t.ok(fs.lstatSync(target).isFile(), 'the symlink was replaced by the launcher');
  t.same(fs.readdirSync(dir).sort(), ['cri-logger', 'precious'], 'no temp file left');
});
