/**
 * The host runtime's pid files are renamed into place (a FIFO or symlink planted at the path is
 * replaced, never opened or followed), one that cannot be written fails the start or exec without
 * leaving its process behind, and a process cwd that is no directory is a typed error naming it,
 * before anything runs.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { HostRuntime } from '../../../src/runtime/host/index.js';
import { Init } from '../../../src/runtime/proc/index.js';
import { mkfifo } from '../../../src/sys/index.js';
import { listChildren } from '../../../src/runtime/reaper/children.js';
import { httpError } from '../../../src/daemon/httpError.js';
import { classifyStartError } from '../../../src/daemon/tasks.js';
import { TaskioError } from '../../../src/errors.js';
import { fdCount, tmpDir } from '../../helpers/common.js';

const opts = { timeout: 60_000 };
const runtime = new HostRuntime();
const noStdio = { stdin: '', stdout: '', stderr: '', terminal: false };

function bundle(t: Test, proc: object): string {
  const dir = tmpDir(t, 'taskio-host-pid-');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ process: { env: ['PATH=/usr/bin:/bin'], cwd: '/', ...proc } }));
  return dir;
}

function newId(name: string): string {
  return `${name}-${crypto.randomBytes(3).toString('hex')}`;
}

/** Deletes the task (killing what runs) when the test ends. */
function cleanup(t: Test, id: string): void {
  t.teardown(() => runtime.delete(id, { force: true }).catch(() => undefined));
}

/** A task of `runtime` whose init (`sleep`) runs, deleted when the test ends. */
async function runningTask(t: Test, name: string): Promise<{ dir: string; id: string }> {
  const dir = bundle(t, { args: ['/bin/sleep', '1000'] });
  const id = newId(name);
  await runtime.create(id, dir, {});
  cleanup(t, id);
  await runtime.start(id);
  return { dir, id };
}

/**
 * The children of this process, live or zombie, that were not among `before`: the host runtime's
 * processes are its children (libuv's, node-pty's), so one it left running or unreaped is listed.
 */
function newChildren(before: readonly number[]): number[] {
  return (listChildren() ?? []).filter((pid) => !before.includes(pid));
}

/**
 * Pid files that cannot be written, under `dir`, with the reason the error gives. Each is made
 * writable by `mend`, for a start or exec that must then succeed.
 */
function unwritablePidFiles(dir: string): Array<{ pidFile: string; why: string; mend: () => void }> {
  const missing = path.join(dir, 'missing');
  const isDir = path.join(dir, 'is-dir.pid');
  fs.mkdirSync(isDir);
  fs.writeFileSync(path.join(isDir, 'keep'), '');
  return [
    { pidFile: path.join(missing, 'pid'), why: 'its directory does not exist', mend: () => fs.mkdirSync(missing) },
    { pidFile: isDir, why: 'it is a directory', mend: () => fs.rmSync(isDir, { recursive: true }) },
  ];
}

for (const [owner, rt] of [['a job object', runtime], ['its session (no job object)', new HostRuntime({ jobs: false })]] as const) {
  t.test(`start, owned through ${owner}: a pid file that cannot be written is ERR_INVALID_PID_FILE naming it; its process is killed and reaped, the task stays created`, opts, async (t) => {
    const dir = bundle(t, { args: ['/bin/sleep', '1000'] });
    for (const { pidFile, why, mend } of unwritablePidFiles(dir)) {
      const id = newId('pw');
      await rt.create(id, dir, { pidFile });
      t.teardown(() => rt.delete(id, { force: true }).catch(() => undefined));
      const fds = fdCount();
      const children = listChildren() ?? [];
      await t.rejects(rt.start(id), { code: 'ERR_INVALID_PID_FILE', message: `cannot write the pid file ${JSON.stringify(pidFile)}: ${why}` });
      t.same(newChildren(children), [], `${why}: the process it started is gone and reaped`);
      t.equal(fdCount(), fds, `${why}: no fd left`);
      t.match(await rt.state(id), { status: 'created', pid: 0 }, `${why}: still created, no process`);
      mend();
      await rt.start(id);
      t.equal(Number(fs.readFileSync(pidFile, 'utf8')), (await rt.state(id)).pid, `${why}: a start once the path is writable runs, its pid written`);
    }
    t.same(fs.readdirSync(dir).sort(), ['config.json', 'is-dir.pid', 'missing'], 'no temp file left');
  });
}

t.test('start on a terminal: a pid file that cannot be written leaves no process and no pty fd', opts, async (t) => {
  const dir = bundle(t, { args: ['/bin/sleep', '1000'], terminal: true, env: ['PATH=/usr/bin:/bin', 'TERM=xterm'] });
  const { pidFile, why } = unwritablePidFiles(dir)[0]!;
  const id = newId('pt');
  const terminal = runtime.newTerminal();
  t.teardown(() => terminal.close());
  await runtime.create(id, dir, { pidFile, terminal });
  cleanup(t, id);
  const fds = fdCount();
  const children = listChildren() ?? [];
  await t.rejects(runtime.start(id), { code: 'ERR_INVALID_PID_FILE', message: why });
  t.same(newChildren(children), [], 'the process on the pty is gone and reaped');
  t.equal(fdCount(), fds, 'the pty master is closed');
});

t.test('exec: a pid file that cannot be written is ERR_INVALID_PID_FILE; the exec\'s process is killed and reaped, the init runs on', opts, async (t) => {
  const { dir, id } = await runningTask(t, 'pe');
  const init = (await runtime.state(id)).pid;
  for (const { pidFile, why } of unwritablePidFiles(dir)) {
    const children = listChildren() ?? [];
    await t.rejects(runtime.exec(id, { args: ['/bin/sleep', '1000'], cwd: '/' }, { pidFile }), { code: 'ERR_INVALID_PID_FILE', message: why });
    t.same(newChildren(children), [], `${why}: the exec's process is gone and reaped`);
  }
  t.match(await runtime.state(id), { status: 'running', pid: init }, 'the init runs on');
});

/**
 * A reader of the FIFO at `file`, so that a writer opening it (the old blocking write) is not held
 * for ever and the test fails instead of hanging; killed at the end (after the fix it may wait in
 * its open of the FIFO that was replaced).
 */
function fifoReader(t: Test, file: string): void {
  const cat = spawn('cat', [file], { stdio: 'ignore' });
  t.teardown(() => { cat.kill('SIGKILL'); });
}

t.test('start: a FIFO planted at the pid file is replaced by the pid file, the event loop never blocks', opts, async (t) => {
  const dir = bundle(t, { args: ['/bin/sleep', '1000'] });
  const pidFile = path.join(dir, 'pid');
  mkfifo(pidFile, 0o600);
  fifoReader(t, pidFile);
  const id = newId('pf');
  await runtime.create(id, dir, { pidFile });
  cleanup(t, id);
  await runtime.start(id);
  const st = fs.lstatSync(pidFile);
  // Reading a FIFO left there would block this thread: the checks below need the regular file.
  if (!t.ok(st.isFile(), 'a regular file now')) return;
  t.equal(st.mode & 0o777, 0o644 & ~process.umask(), 'mode 0644 under the umask');
  t.equal(Number(fs.readFileSync(pidFile, 'utf8')), (await runtime.state(id)).pid, 'holding the init\'s pid');
  t.same(fs.readdirSync(dir).sort(), ['config.json', 'pid'], 'no temp file left');
});

t.test('exec: a symlink planted at the pid file is replaced, its target never written', opts, async (t) => {
  const { dir, id } = await runningTask(t, 'ps');
  const target = path.join(dir, 'precious');
  fs.writeFileSync(target, 'keep');
  const pidFile = path.join(dir, 'exec.pid');
  fs.symlinkSync(target, pidFile);
  await runtime.exec(id, { args: ['/bin/sleep', '1000'], cwd: '/' }, { pidFile });
  t.equal(fs.readFileSync(target, 'utf8'), 'keep', 'the target is untouched');
  t.ok(fs.lstatSync(pidFile).isFile(), 'the pid file is a regular file');
  t.ok(Number(fs.readFileSync(pidFile, 'utf8')) > 0, 'holding a pid');
});

t.test('Init: a FIFO planted at <bundle>/init.pid between create and start does not hold the start', opts, async (t) => {
  const dir = bundle(t, { args: ['/bin/sleep', '1000'] });
  const id = newId('pi');
  const init = new Init(id, runtime, noStdio);
  await init.create({ id, bundle: dir, ...noStdio });
  t.teardown(async () => {
    await init.kill('KILL').catch(() => undefined);
    await init.delete().catch(() => undefined);
  });
  const pidFile = path.join(dir, 'init.pid');
  mkfifo(pidFile, 0o600);
  fifoReader(t, pidFile);
  await init.start();
  if (!t.ok(fs.lstatSync(pidFile).isFile(), 'a regular file now')) return;
  t.equal(Number(fs.readFileSync(pidFile, 'utf8')), init.pid());
});

t.test('a missing process.cwd is ERR_INVALID_CWD naming it, at create, before the task or its job exists', opts, async (t) => {
  const missing = path.join(tmpDir(t, 'taskio-host-cwd-'), 'no', 'such', 'dir');
  const dir = bundle(t, { args: ['/bin/true'], cwd: missing });
  const before = fdCount();
  const id = newId('cw');
  await t.rejects(runtime.create(id, dir, {}), { code: 'ERR_INVALID_CWD', message: new RegExp(`"${missing}" does not exist`) });
  await t.rejects(runtime.state(id), { code: 'ERR_NOT_FOUND' }, 'no task kept');
  t.equal(fdCount(), before, 'no fd left');
  // The daemon answers it as the caller's mistake, not a command not found.
  const err = new TaskioError('ERR_INVALID_CWD', 'x');
  t.equal(classifyStartError(err, 'sh'), err);
  t.equal(httpError(err).status, 400);
});

t.test('a cwd gone since create fails the start, and a cwd that is a file fails an exec; nothing runs', opts, async (t) => {
  const cwd = tmpDir(t, 'taskio-host-cwd-');
  const dir = bundle(t, { args: ['/bin/sleep', '1000'], cwd });
  const id = newId('cg');
  await runtime.create(id, dir, {});
  cleanup(t, id);
  fs.rmdirSync(cwd);
  await t.rejects(runtime.start(id), { code: 'ERR_INVALID_CWD', message: new RegExp(`"${cwd}" does not exist`) });
  t.match(await runtime.state(id), { status: 'created', pid: 0 }, 'still created, no process');
  fs.mkdirSync(cwd);
  await runtime.start(id);
  const file = path.join(cwd, 'plain');
  fs.writeFileSync(file, '');
  const pidFile = path.join(cwd, 'exec.pid');
  await t.rejects(runtime.exec(id, { args: ['/bin/true'], cwd: file }, { pidFile }), { code: 'ERR_INVALID_CWD', message: new RegExp(`"${file}" is not a directory`) });
  t.notOk(fs.existsSync(pidFile), 'no exec pid file');
});
