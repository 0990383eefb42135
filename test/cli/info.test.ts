import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DaemonClient, SystemInfo } from '../../src/daemon/index.js';
import { DaemonClient as Client } from '../../src/daemon/index.js';
import { client, daemonPid, daemonRoot, foregroundDaemon } from '../daemon/helpers.js';
import { inProcess, refusedLine } from './inProcess.js';
import { taskio } from './taskioCommand.js';

/** `taskio info --format json` on `root`, parsed. */
async function infoOf(root: string): Promise<SystemInfo> {
  const r = await inProcess(['info', '--format', 'json'], undefined, { TASKIO_ROOT: root });
  if (r.code !== 0) throw new Error(`info failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as SystemInfo;
}

const counts = (i: SystemInfo): number[] => [i.Containers, i.ContainersRunning, i.ContainersPaused, i.ContainersStopped];

t.test('info: tasks counted by state as they run, pause and exit; the text layout, --format and {{json .}}', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  const c: DaemonClient = await client(root);
  t.teardown(() => c.close());
  t.same(counts(await infoOf(root)), [0, 0, 0, 0], 'no task yet');

  await c.createTask({ id: 'up', runtime: 'host', args: ['sleep', '1000'] });
  await c.createTask({ id: 'frozen', runtime: 'host', args: ['sleep', '1000'] });
  await c.pause('frozen'); // a host task's job object: the cgroup freezer
  await c.createTask({ id: 'done', runtime: 'host', args: ['true'] });
  await c.wait('done');
  t.same(counts(await infoOf(root)), [3, 1, 1, 1], 'one running, one paused, one exited (Stopped)');
  await c.resume('frozen');
  t.same(counts(await infoOf(root)), [3, 2, 0, 1], 'unpaused: running');

  const running = await taskio(t, root, 'info', '--format', '{{.ContainersRunning}}');
  t.same([running.code, running.stdout, running.stderr], [0, '2\n', ''], 'a template over the JSON, through the command');

  const json = await inProcess(['info', '-f', '{{json .}}'], undefined, { TASKIO_ROOT: root });
  t.equal(json.code, 0);
  const i = JSON.parse(json.stdout) as SystemInfo;
  t.match(i, {
    ServerVersion: /^\d+\.\d+\.\d+/, ApiVersion: 1, RootDir: root, Pid: daemonPid(root), NodeVersion: process.version,
    Runtimes: { host: {} }, LoggingDriver: 'k8s-file', CgroupDriver: 'cgroupfs', CgroupVersion: /^[12]$/,
    KernelVersion: os.release(), OSType: 'linux', Architecture: os.machine(), NCPU: os.availableParallelism(), MemTotal: os.totalmem(),
    Name: os.hostname(), LiveRestoreEnabled: true, Warnings: [],
  });
  t.match(fs.readFileSync('/etc/os-release', 'utf8'), `PRETTY_NAME="${i.OperatingSystem}"`, 'os-release\'s PRETTY_NAME');
  // This host has both installed, as root: each with its --version, and runc tasks get the builtin profile.
  t.match(i.Runtimes, { runc: { path: /runc$/, version: /^\d/ }, runsc: { path: /runsc$/, version: /\d/ } });
  t.same(i.SecurityOptions, ['name=seccomp,profile=builtin']);
  t.equal(i.DefaultRuntime, 'runsc');

  const text = await inProcess(['info'], undefined, { TASKIO_ROOT: root });
  t.same([text.code, text.stderr], [0, '']);
  t.match(text.stdout, /^Client:\n Version: +\S+\n Node\.js version: +v\d+[^\n]*\n OS\/Arch: +linux\/\w+\n\nServer:\n/);
  t.match(text.stdout, '\nServer:\n Tasks: 3\n  Running: 2\n  Paused: 0\n  Stopped: 1\n Server Version: ');
  t.match(text.stdout, ' Runtimes: host runc runsc\n Default Runtime: runsc\n runc version: ');
  t.match(text.stdout, ' Security Options:\n  seccomp\n   Profile: builtin\n');
  t.match(text.stdout, `\n Root Dir: ${root}\n Pid: ${i.Pid}\n`);
});

t.test('info: a bad template or a missing field is one line, 125; no daemon: the client part, one line, 125, none started', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const c = await client(root);
  t.teardown(() => c.close());
  const unclosed = await refusedLine(t, root, ['info', '--format', '{{.ServerVersion'], false);
  t.same([unclosed.code, unclosed.stdout], [125, '']);
  t.equal(unclosed.stderr, `taskio info: invalid argument "{{.ServerVersion" for "-f, --format" flag: template "{{.ServerVersion": 1:1: unclosed action. See 'taskio info --help'.\n`);
  const missing = await refusedLine(t, root, ['info', '-f', '{{.Images}}'], true);
  t.same([missing.code, missing.stdout], [125, '']);
  t.equal(missing.stderr, 'taskio info: template "{{.Images}}": 1:3: at <.Images>: map has no entry for key "Images"\n');

  const none = path.join(root, 'no-daemon-here');
  for (const argv of [['info'], ['info', '-f', '{{.ServerVersion}}']]) {
    const down = await inProcess(argv, undefined, { TASKIO_ROOT: none });
    t.equal(down.code, 125, argv.join(' '));
    t.match(down.stdout, argv.length === 1 ? /^Client:\n Version: [^\n]+\n Node\.js version: [^\n]+\n OS\/Arch: [^\n]+\n$/ : /^$/);
    t.equal(down.stderr, `taskio info: cannot connect to the taskio daemon at ${none}/taskio.sock: is it running? (taskio daemon, or any other command, starts it)\n`);
  }
  t.notOk(fs.existsSync(none), 'asking started no daemon');
});

t.test('info: a runtime that is not installed is left out, with a warning on stderr (and no seccomp without runc)', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  await foregroundDaemon(root, { ...process.env, TASKIO_RUNC: '' });
  const c = new Client(root, { start: false });
  t.teardown(() => c.close());
  const i = await c.info();
  t.same(Object.keys(i.Runtimes).sort(), ['host', 'runsc']);
  t.same(i.SecurityOptions, []);
  t.same(i.Warnings, ['runtime runc is not installed (not found in PATH): runc tasks cannot run']);
  const text = await inProcess(['info'], undefined, { TASKIO_ROOT: root });
  t.equal(text.code, 0);
  t.equal(text.stderr, 'WARNING: runtime runc is not installed (not found in PATH): runc tasks cannot run\n');
  t.notMatch(text.stdout, 'Security Options');
});
