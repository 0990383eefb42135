import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ChildProcess } from 'node:child_process';
import { invoke } from '../../../src/runtime/oci/spawn.js';
import { RuntimeError } from '../../../src/runtime/oci/error.js';
import { defaultMonitor } from '../../../src/runtime/reaper/index.js';
import { fdCount, tmpDir, until } from '../../helpers/common.js';

/*
 * A runtime command starts through execa, or — where an exit monitor reaps in the process, as in
 * the daemon — through posix_spawn and that monitor. Each case runs both ways and must end the same.
 */
const modes = ['execa', 'monitored'] as const;

function inMode(t: { teardown(fn: () => void): void }, mode: (typeof modes)[number]): { forks(): number } {
  if (mode === 'monitored') {
    defaultMonitor.start();
    t.teardown(() => defaultMonitor.stop());
  }
  // Counts child_process spawns (execa's): the monitored path makes none.
  const proto = ChildProcess.prototype as unknown as { spawn: (...args: unknown[]) => unknown };
  const original = proto.spawn;
  let forks = 0;
  proto.spawn = function (this: unknown, ...args: unknown[]) {
    forks++;
    return original.apply(this, args);
  };
  t.teardown(() => { proto.spawn = original; });
  return { forks: () => forks };
}

for (const mode of modes) {
  t.test(`${mode}: output collected, input fed, a failure carries the runtime's logged error`, { timeout: 30_000 }, async (t) => {
    const spy = inMode(t, mode);
    const fds = fdCount();
    t.match(await invoke({ command: 'runc', args: ['--version'] }), { stdout: /^runc version [^]*\nspec: /, stderr: '' });
    t.same(await invoke({ command: 'sh', args: ['-c', 'cat; echo err >&2'], input: 'typed\n' }), { stdout: 'typed\n', stderr: 'err\n' });
    const dir = tmpDir(t);
    const log = path.join(dir, 'log.json');
    const err = await invoke({ command: 'runc', args: ['--log', log, '--log-format', 'json', '--root', dir, 'state', 'nosuch'], logPath: log, subcommand: 'state' }).then(() => null, (e: unknown) => e);
    t.type(err, RuntimeError);
    t.match(err, { code: 'ERR_RUNTIME', exitCode: 1, message: /^runc state: container does not exist \(exit status 1\)$/ });
    t.equal((err as RuntimeError).runtimeMessage, 'container does not exist', 'from the runtime\'s JSON log');
    const status = await invoke({ command: 'sh', args: ['-c', 'exit 130'] }).then(() => null, (e: unknown) => e);
    t.match(status, { exitCode: 130 }, 'a status above 128 that the command chose is its exit code');
    t.equal(spy.forks() === 0, mode === 'monitored', 'child_process is used only without a monitor');
    t.equal(fdCount(), fds, 'no fd left');
  });

  t.test(`${mode}: a binary that cannot run is ENOENT/EACCES naming it`, { timeout: 30_000 }, async (t) => {
    inMode(t, mode);
    await t.rejects(invoke({ command: 'taskio-no-such-runtime', args: ['state'] }), { code: 'ENOENT', message: /not found: taskio-no-such-runtime/ });
    const dir = tmpDir(t);
    fs.writeFileSync(path.join(dir, 'plain'), 'x\n', { mode: 0o644 });
    await t.rejects(invoke({ command: path.join(dir, 'plain'), args: [] }), { code: 'EACCES', message: /not executable/ });
  });

  t.test(`${mode}: the time limit and the abort signal kill the whole group`, { timeout: 30_000 }, async (t) => {
    inMode(t, mode);
    const dir = tmpDir(t);
    const pidFile = path.join(dir, 'pid');
    // The command's own child must go too: it is in the command's process group.
    const script = `sleep 60 & echo $! > ${pidFile}; wait`;
    const err = await invoke({ command: 'sh', args: ['-c', script], timeout: 300 }).then(() => null, (e: unknown) => e);
    t.match(err, { code: 'ERR_RUNTIME_TIMEOUT', exitCode: null, timeout: 300, message: /timed out after 300 ms and was killed \(signal SIGKILL\)/ });
    const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
    await until(() => !alive(grandchild), 10_000, 'the command\'s child killed');
    const ac = new AbortController();
    const call = invoke({ command: 'sh', args: ['-c', `echo started > ${pidFile}.2; sleep 60`], signal: ac.signal });
    await until(() => fs.existsSync(`${pidFile}.2`), 10_000, 'the command started');
    ac.abort();
    await t.rejects(call, { name: 'AbortError' });
    await t.rejects(invoke({ command: 'true', args: [], signal: ac.signal }), { name: 'AbortError' }, 'aborted before: nothing runs');
  });

  t.test(`${mode}: handed-off fds reach the command in order, a source that is also a target included`, { timeout: 30_000 }, async (t) => {
    inMode(t, mode);
    const dir = tmpDir(t);
    const a = fs.openSync(path.join(dir, 'a'), 'w'), b = fs.openSync(path.join(dir, 'b'), 'w');
    t.teardown(() => { fs.closeSync(a); fs.closeSync(b); });
    await invoke({ command: 'sh', args: ['-c', 'echo to3 >&3; echo to4 >&4; echo out'], stdio: ['ignore', b, 'ignore'], extraFiles: [b, a] });
    t.equal(fs.readFileSync(path.join(dir, 'a'), 'utf8'), 'to4\n');
    t.equal(fs.readFileSync(path.join(dir, 'b'), 'utf8'), 'to3\nout\n');
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}
