import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { PassThrough } from 'node:stream';
import type { DaemonClient } from '../../src/daemon/index.js';
import { containerCgroup, containerCgroupParent } from '../../src/daemon/containerCgroup.js';
import { cgroupDirs } from '../../src/runtime/oci/containerCgroups.js';
import { jobPrefix } from '../../src/daemon/runtimes.js';
import { client, cliMain, daemonPid, daemonRoot, eventually, runtimeIdOf, treeOf, waitGone } from '../daemon/helpers.js';
import { inProcess } from './inProcess.js';
import { taskio } from './runSession.js';
import { taskioEnv } from './taskioCommand.js';
import { described, helperRuntimeIds, makeRootfs, makeTree, processesOf, runtimeLeft, taskioFiles, under } from './cpSupport.js';

t.test('cp refusals before any task is asked: one line, exit 125; container cp is cp', async (t) => {
  const cases: Array<[string[], string]> = [
    [['cp', 'a:/x', 'b:/y'], 'taskio cp: copying between containers is not supported\n'],
    [['cp', 'a', './b:c'], 'taskio cp: must specify at least one container source (TASK:PATH), not "a" and "./b:c"\n'],
    [['cp', '', 'box:/x'], 'taskio cp: source can not be empty\n'],
    [['cp', 'box:/x'], `taskio cp: "taskio cp" requires exactly 2 arguments. See 'taskio cp --help'.\n`],
  ];
  for (const [argv, line] of cases) {
    const r = await inProcess(argv);
    t.same([r.code, r.stderr], [125, line], argv.join(' '));
  }
  t.match((await inProcess(['container', 'cp', '--help'])).stdout, /^\nUsage:  taskio container cp \[OPTIONS\] TASK:SRC_PATH DEST_PATH\|-\n\ttaskio cp \[OPTIONS\] SRC_PATH\|- TASK:DEST_PATH\n[^]*\nAliases:\n  taskio container cp, taskio cp\n/);
});

t.test('cp with a host task: files, directories, DIR/., into a directory or to a new name, - both ways; modes kept, owners with -a', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  // A host task's files are the host's: its side of the copy lives under T, this side under H.
  const T = path.join(root, 'task');
  const H = path.join(root, 'here');
  makeTree(path.join(T, 'src'));
  fs.mkdirSync(path.join(T, 'in'));
  fs.mkdirSync(H);
  t.equal((await taskio(root, ['run', '-d', '--name', 'box', '--runtime', 'host', '--', 'sleep', '1000'])).status, 0);
  const cp = async (...args: string[]): Promise<void> => {
    const r = await taskio(root, ['cp', ...args]);
    t.same([r.status, r.stderr, r.stdout], [0, '', ''], `cp ${args.join(' ')}`);
  };

  // From the task.
  await cp(`box:${T}/src/f`, `${H}/`);
  await cp(`box:${T}/src/f`, `${H}/renamed`);
  await cp(`box:${T}/src`, `${H}/copy`);
  await cp(`box:${T}/src`, H);
  fs.mkdirSync(path.join(H, 'contents'));
  await cp(`box:${T}/src/.`, `${H}/contents`);
  t.same(described(H), [
    ...under('contents'), 'd 755 contents', ...under('copy'), 'd 755 copy', 'f 640 f file', 'f 640 renamed file', ...under('src'), 'd 755 src',
  ].sort(), 'a file into a directory and to a new name; a directory to a new name, into a directory, its contents; modes as they were');

  // A tar stream out, and back in.
  const archive = path.join(root, 'src.tar');
  const out = await taskioFiles(root, ['cp', `box:${T}/src`, '-'], { stdout: archive });
  t.same([out.status, out.stderr], [0, '']);
  t.same(spawnSync('tar', ['-tf', archive], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort(), ['src/', 'src/f', 'src/sub/', 'src/sub/g']);
  const back = await taskioFiles(root, ['cp', '-', `box:${T}/in`], { stdin: archive });
  t.same([back.status, back.stderr], [0, '']);
  t.same(described(path.join(T, 'in')), [...under('src'), 'd 755 src'].sort(), 'cp - extracts the stream in the directory');
  fs.rmSync(path.join(T, 'in', 'src'), { recursive: true });

  // To the task.
  fs.writeFileSync(path.join(H, 'owned'), 'owned\n', { mode: 0o604 });
  fs.chownSync(path.join(H, 'owned'), 1234, 5678);
  await cp(`${H}/owned`, `box:${T}/in/`);
  await cp('-a', `${H}/owned`, `box:${T}/in/owned-a`);
  await cp(`${H}/src`, `box:${T}/in/dir`);
  await cp(`${H}/src`, `box:${T}/in`);
  fs.mkdirSync(path.join(T, 'in', 'contents'));
  await cp(`${H}/src/.`, `box:${T}/in/contents`);
  t.same(described(path.join(T, 'in')), [
    ...under('contents'), 'd 755 contents', ...under('dir'), 'd 755 dir', 'f 604 owned owned', 'f 604 owned-a owned', ...under('src'), 'd 755 src',
  ].sort());
  const owner = (name: string): string => { const st = fs.statSync(path.join(T, 'in', name)); return `${st.uid}:${st.gid}`; };
  t.same([owner('owned'), owner('owned-a')], ['0:0', '1234:5678'], 'owners are root\'s in the task, the source\'s with -a');

  // docker's summary: only asked for here (stdout is no terminal).
  const said = await taskio(root, ['cp', '--quiet=false', `box:${T}/src/f`, `${H}/said`]);
  t.same([said.status, said.stderr], [0, `Successfully copied 5B to ${H}/said\n`]);
  const quiet = await taskio(root, ['cp', '-q', `${H}/said`, `box:${T}/in/said`]);
  t.same([quiet.status, quiet.stderr], [0, '']);

  // Refusals: docker's wording, one line, 125.
  const refusals: Array<[string[], string]> = [
    [[`box:${T}/nope`, H], `taskio cp: Could not find the file ${T}/nope in container box\n`],
    [[`${H}/nope`, `box:${T}/in`], `taskio cp: lstat ${H}/nope: no such file or directory\n`],
    [[`box:${T}/src`, `${H}/f`], `taskio cp: cannot copy directory box:${T}/src to ${H}/f: it is a file\n`],
    [[`box:${T}/src/f`, `${H}/new/`], `taskio cp: no such directory: ${H}/new/ (the destination directory must exist)\n`],
    [[`box:${T}/src`, `${H}/no/such`], `taskio cp: no such directory: ${H}/no\n`],
    [['nosuch:/x', H], 'taskio cp: no such task: nosuch\n'],
  ];
  for (const [args, line] of refusals) {
    const r = await taskio(root, ['cp', ...args]);
    t.same([r.status, r.stderr], [125, line], `cp ${args.join(' ')}`);
  }
  const fifo = path.join(root, 'fifo');
  t.same(fs.existsSync(fifo) ? fs.readdirSync(fifo) : [], [], 'every exec\'s FIFO set was removed');
});


t.test('runc: the CI runner\'s sequence — create, cp in, start -a reads it, cp out of the exited task, rm; no helper left', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  // Outside the state root (a --rootfs may not be in it); removed after the daemon's teardown removed the task.
  const R = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-cp-rootfs-'));
  t.teardown(() => fs.rmSync(R, { recursive: true, force: true }));
  makeRootfs(R);
  fs.mkdirSync(path.join(R, 'etc', 'app'), { recursive: true });
  const H = path.join(root, 'here');
  fs.mkdirSync(H);
  fs.writeFileSync(path.join(H, 'config.json'), '{"ci":1}\n', { mode: 0o640 });
  const script = 'cat /etc/app/config.json; mkdir /out; cp /etc/app/config.json /out/seen; echo art > /out/a';
  t.equal((await taskio(root, ['create', '--name', 'box', '--runtime', 'runc', '--rootfs', R, '--', 'sh', '-c', script])).status, 0);
  const leftNothing = (what: string, containers: string[]): void => {
    t.same(runtimeLeft(root, 'box'), { containers, helperDirs: [], helperCgroups: [] }, `${what}: no helper container in runc's list, no helper bundle or cgroup`);
    t.same(processesOf(R, R), [], `${what}: no helper process`);
  };

  const into = await taskio(root, ['cp', `${H}/config.json`, 'box:/etc/app/']);
  t.same([into.status, into.stderr], [0, ''], 'cp into the created task');
  t.equal(fs.readFileSync(path.join(R, 'etc', 'app', 'config.json'), 'utf8'), '{"ci":1}\n', 'in the task\'s root');
  leftNothing('after cp into the created task', []);

  const started = await taskio(root, ['start', '-a', 'box']);
  t.same([started.status, started.stdout, started.stderr], [0, '{"ci":1}\n', ''], 'start -a: the task read the copied file');

  const runtimeId = runtimeIdOf(root, 'runc', 'box');
  const out = await taskio(root, ['cp', 'box:/out', `${H}/artifacts`]);
  t.same([out.status, out.stderr], [0, ''], 'cp out of the exited task');
  t.same(described(path.join(H, 'artifacts')), ['f 640 seen {"ci":1}', 'f 644 a art'], 'what the task made');
  leftNothing('after cp out of the exited task', [runtimeId]);

  t.equal((await taskio(root, ['rm', 'box'])).status, 0);
  leftNothing('after rm', []);
});

for (const runtime of ['runc', 'runsc'] as const) {
  t.test(`${runtime}: cp into the /tmp of a created task fails, read-only, rather than succeed into a tmpfs no run of it sees; out of an exited one's /tmp finds nothing`, { timeout: 90_000 }, async (t) => {
    const root = daemonRoot(t);
    const H = path.join(root, 'here');
    fs.mkdirSync(H);
    fs.writeFileSync(path.join(H, 'in'), 'data\n');
    // The default rootfs: /tmp is a tmpfs its runtime makes at each start (the helper's would be another).
    t.equal((await taskio(root, ['create', '--name', 'box', '--runtime', runtime, '--', 'sh', '-c', 'echo made > /tmp/out'])).status, 0);
    const into = await taskio(root, ['cp', `${H}/in`, 'box:/tmp/in']);
    t.equal(into.status, 125, 'cp into /tmp of the created task fails');
    t.match(into.stderr, /^taskio cp: .*Read-only file system/, 'with tar\'s read-only error');
    t.equal((await taskio(root, ['start', '-a', 'box'])).status, 0);
    const out = await taskio(root, ['cp', 'box:/tmp/out', `${H}/out`]);
    t.same([out.status, out.stderr], [125, 'taskio cp: Could not find the file /tmp/out in container box\n'], 'what the run left in its /tmp went with it');
    t.same(runtimeLeft(root, 'box', runtime).helperDirs, [], 'no helper bundle left');
    t.equal((await taskio(root, ['rm', 'box'])).status, 0);
    t.same(runtimeLeft(root, 'box', runtime), { containers: [], helperDirs: [], helperCgroups: [] }, 'nothing left after rm');
  });
}

/**
 * A copy helper running `cat` in task `box` of `c`'s daemon that runs until its input ends (`end`),
 * as a copy in whose client is slow; `exited`: its wait's answer.
 */
async function heldHelper(t: Test, c: DaemonClient): Promise<{ exited: Promise<unknown>; end: () => void }> {
  const input = new PassThrough();
  const output = new PassThrough();
  const echoed = new Promise<string>((resolve) => output.once('data', (d: Buffer) => resolve(d.toString())));
  const h = await c.exec('box', { args: ['cat'], user: '0:0', helper: true, stdin: input, stdout: output });
  const exited = h.wait().catch((err: unknown) => err);
  input.write('ping\n');
  t.equal(await echoed, 'ping\n', 'the helper runs cat, its stdio the exec\'s');
  return { exited, end: () => input.end() };
}

/** Task `box` of `root` made by `taskio ARGS` on `runtime`, and a {@link heldHelper} in it that is never ended here. */
async function runningHelper(t: Test, root: string, args: string[], runtime = 'runc'): Promise<{ c: DaemonClient; exited: Promise<unknown> }> {
  t.equal((await taskio(root, [...args, '--name', 'box', '--runtime', runtime, '--', 'true'])).status, 0);
  const c = await client(root);
  t.teardown(() => c.close());
  return { c, exited: (await heldHelper(t, c)).exited };
}

t.test('runc: a copy helper that still runs holds off the start, and rm -f ends it first: nothing left', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const { c, exited } = await runningHelper(t, root, ['create']);
  t.match(runtimeLeft(root, 'box'), { containers: [helperRuntimeIds(root, 'runc').pattern], helperDirs: [/^cp-/], helperCgroups: [/\+cp\+/] }, 'one helper container, its bundle in the task\'s directory, its cgroup');
  const start = await taskio(root, ['start', 'box']);
  t.same([start.status, start.stderr], [125, 'taskio start: cannot start task box: a copy into or out of it runs (taskio cp); start it once that is done\n']);
  const rm = await taskio(root, ['rm', '-f', 'box']);
  t.same([rm.status, rm.stderr], [0, ''], 'rm -f of the created task');
  t.match(await exited, { exitCode: 137 }, 'the helper was killed');
  t.same(runtimeLeft(root, 'box'), { containers: [], helperDirs: [], helperCgroups: [] }, 'no helper container, bundle or cgroup left');
  t.same(processesOf(null, path.join(root, 'rootfs', 'busybox', 'rootfs')), [], 'no helper process left');
  const running = await c.exec('box', { args: ['true'], helper: true }).catch((err: unknown) => err);
  t.match(running, { code: 'ERR_NOT_FOUND' }, 'the task is gone');
});

t.test('runc: a daemon that stops ends a copy helper that still runs: nothing left', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const { exited: ended } = await runningHelper(t, root, ['run']);
  const pid = daemonPid(root);
  process.kill(pid, 'SIGTERM');
  await waitGone(pid);
  await ended;
  t.same(runtimeLeft(root, 'box'), { containers: [runtimeIdOf(root, 'runc', 'box')], helperDirs: [], helperCgroups: [] }, 'the task\'s container alone: the helper\'s was deleted, its cgroup too');
  t.same(processesOf(null, path.join(root, 'rootfs', 'busybox', 'rootfs')), [], 'no helper process left');
});

t.test('runc: a restart of --restart always that comes while a copy out of the exited task runs waits for the copy, then the task runs again', { timeout: 90_000 }, async (t) => {
  const root = daemonRoot(t);
  const c = await client(root);
  t.teardown(() => c.close());
  const watching = new AbortController();
  t.teardown(() => watching.abort());
  const events = await c.events({ id: 'box', signal: watching.signal });
  const next = async (type: string): Promise<void> => {
    for (;;) {
      const e = await events.next();
      if (e.done === true) throw new Error(`the events ended before a ${type}`);
      if (e.value.type === type) return;
    }
  };
  t.equal((await taskio(root, ['run', '-d', '--restart', 'always', '--name', 'box', '--runtime', 'runc', '--', 'true'])).status, 0);
  // Each restart after a short run doubles the wait: after the 5th, the next one comes 3.2 s after
  // the exit, time enough for the copy to start while the task is exited (the 1st comes after 0.1 s).
  for (let i = 0; i < 5; i++) await next('restart');
  await next('exit');
  const { exited, end } = await heldHelper(t, c);
  t.match(await c.getTask('box'), { status: 'restarting', restartCount: 5 }, 'the copy runs while the restart waits');
  await eventually(() => fs.readFileSync(path.join(root, 'daemon.log'), 'utf8').includes('the restart waits for the copies into or out of the task to end'), 'the restart to be due');
  t.match(await c.exec('box', { args: ['true'], helper: true }).catch((err: unknown) => err), { code: 'ERR_INVALID_STATE', message: /task box is starting/ }, 'no new copy once the restart is due');
  const start = await taskio(root, ['start', 'box']);
  t.same([start.status, start.stderr], [125, 'taskio start: cannot start task box: a copy into or out of it runs (taskio cp); start it once that is done\n'], 'a client\'s start is still refused');
  t.match(await c.getTask('box'), { status: 'restarting', restartCount: 5 }, 'the restart still waits');
  const restarted = next('restart');
  end();
  t.match(await exited, { exitCode: 0 }, 'the copy ended');
  await restarted;
  t.match(await c.getTask('box'), { restartCount: 6 }, 'the policy\'s restart came once the copy ended');
  t.same(runtimeLeft(root, 'box').helperDirs, [], 'the helper\'s bundle is gone');
});

/**
 * The live processes of `box`'s copy helpers in `root`: runsc's sandbox and gofer name the helper's
 * runtime id; runc's are in the helper's cgroup (a killed one that its new parent has not reaped yet
 * still names it: not a zombie).
 */
function helperProcesses(root: string, runtime: 'runc' | 'runsc'): number[] {
  if (runtime === 'runsc') return processesOf(helperRuntimeIds(root, 'runsc').start);
  return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((n) => {
    try {
      const stat = fs.readFileSync(`/proc/${n}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
      return fs.readFileSync(`/proc/${n}/cgroup`, 'utf8').includes(`/${containerCgroupParent}/${jobPrefix(root)}box+cp+`);
    } catch {
      return false; // gone meanwhile
    }
  }).map(Number);
}

for (const runtime of ['runc', 'runsc'] as const) {
  t.test(`${runtime}: a daemon SIGKILLed while a copy helper runs leaves it; the next one removes it as it adopts the task, and a task named as an old helper id (<id>-cp-<8 hex>) runs on`, { timeout: 90_000 }, async (t) => {
    const root = daemonRoot(t);
    // Named as box's helpers were before they had a namespace of their own: their leftovers' removal took it for one.
    const bystander = 'box-cp-0a1b2c3d';
    t.equal((await taskio(root, ['run', '-d', '--name', bystander, '--runtime', runtime, '--', 'sleep', '1000'])).status, 0);
    const { exited } = await runningHelper(t, root, ['run'], runtime);
    const tasks = [runtimeIdOf(root, runtime, 'box'), runtimeIdOf(root, runtime, bystander)].sort();
    const helperId = helperRuntimeIds(root, runtime).pattern;
    const before = runtimeLeft(root, 'box', runtime);
    t.same([before.containers.filter((n) => !helperId.test(n)), before.containers.filter((n) => helperId.test(n)).length], [tasks, 1], 'the helper\'s container runs beside the tasks\'');
    t.match(before, { helperDirs: [/^cp-[0-9a-f]{8}$/], helperCgroups: [/\+cp\+/] }, 'its bundle in the task\'s directory, its cgroup');
    t.not(helperProcesses(root, runtime).length, 0, 'its process (runsc: its sandbox) runs');
    const pid = daemonPid(root);
    process.kill(pid, 'SIGKILL');
    await waitGone(pid);
    t.type(await exited, Error, 'the helper\'s wait was cut with its daemon');
    const c = await client(root); // the next daemon, started on demand
    t.teardown(() => c.close());
    t.match(await c.getTask('box'), { status: 'exited', adopted: true }, 'the task is adopted as before');
    t.same(runtimeLeft(root, 'box', runtime), { containers: tasks, helperDirs: [], helperCgroups: [] }, 'the tasks\' containers alone: no helper container, bundle or cgroup');
    t.same(helperProcesses(root, runtime), [], 'no helper process (runsc: sandbox) left');
    t.match(fs.readFileSync(path.join(root, 'daemon.log'), 'utf8'), /"id":"box".*removed the copy helpers a killed daemon left/, 'the daemon log says so');
    t.match(await c.getTask(bystander), { status: 'running' }, `task ${bystander} still runs`);
    const exec = await taskio(root, ['exec', bystander, 'true']);
    t.same([exec.status, exec.stderr], [0, ''], 'an exec in it runs');
    // runsc took "box" for the beginning of the bystander's id too: box's delete failed, and its
    // rm -f left its state and its cgroup in every v1 hierarchy, one per run of this test.
    const rm = await taskio(root, ['rm', '-f', 'box', bystander]);
    t.same([rm.status, rm.stderr], [0, ''], 'rm -f of both');
    t.same(runtimeLeft(root, 'box', runtime).containers, [], 'no container of either left');
    const cgroups = ['box', bystander].map((id) => containerCgroup(`${jobPrefix(root)}${id}`));
    t.same(cgroups.flatMap((g) => cgroupDirs(g).filter((d) => d.endsWith(g))), [], 'no cgroup of either left, in any hierarchy');
    t.notMatch(fs.readFileSync(path.join(root, 'daemon.log'), 'utf8'), /runtime delete failed/, 'each runtime delete succeeded');
  });
}

t.test('host: cp out of an exited task and into a created one; a paused task is refused', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const T = path.join(root, 'task');
  const H = path.join(root, 'here');
  fs.mkdirSync(path.join(T, 'in'), { recursive: true });
  fs.mkdirSync(H);
  t.equal((await taskio(root, ['run', '--name', 'done', '--runtime', 'host', '--', 'sh', '-c', `echo made > ${T}/made`])).status, 0);
  const out = await taskio(root, ['cp', `done:${T}/made`, `${H}/`]);
  t.same([out.status, out.stderr], [0, ''], 'cp out of the exited task');
  t.equal(fs.readFileSync(path.join(H, 'made'), 'utf8'), 'made\n');
  t.same(processesOf(T), [], 'no helper process left');

  fs.writeFileSync(path.join(H, 'f'), 'in\n');
  t.equal((await taskio(root, ['create', '--name', 'made', '--runtime', 'host', '--', 'cat', `${T}/in/f`])).status, 0);
  const into = await taskio(root, ['cp', `${H}/f`, `made:${T}/in/`]);
  t.same([into.status, into.stderr], [0, ''], 'cp into the created task');
  const started = await taskio(root, ['start', '-a', 'made']);
  t.same([started.status, started.stdout], [0, 'in\n'], 'its first run reads it');
  t.same(processesOf(T), [], 'no helper process left');

  t.equal((await taskio(root, ['run', '-d', '--name', 'frozen', '--runtime', 'host', '--', 'sleep', '1000'])).status, 0);
  t.equal((await taskio(root, ['pause', 'frozen'])).status, 0);
  const paused = await taskio(root, ['cp', `frozen:${T}/made`, `${H}/frozen`]);
  t.same([paused.status, paused.stderr], [125, 'taskio cp: task frozen is paused: cp needs it running, created or exited; unpause it first\n']);
  t.notOk(fs.existsSync(path.join(H, 'frozen')), 'nothing copied');
  t.same(fs.readdirSync(path.join(root, 'fifo')), [], 'every exec\'s FIFO set was removed');
});

/** A {@link stalledCopy}: the client, how it ended (its exit code or signal, its stderr), and the helper's tar. */
interface StalledCopy {
  cli: ChildProcess;
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  helperTar: () => number[];
  /** SIGKILLs the client and waits until it is gone. */
  killClient: () => Promise<void>;
}

/**
 * `taskio cp box:T/big -` out of an exited host task `box` of `root`, its client reading no more
 * once the helper's output reached it: the helper's tar (`helperTar`) blocks on the full FIFO.
 */
async function stalledCopy(t: Test, root: string): Promise<StalledCopy> {
  const T = path.join(root, 'task');
  fs.mkdirSync(T);
  // More than the FIFO and the client's pipes hold: the helper's tar blocks once nobody reads.
  fs.writeFileSync(path.join(T, 'big'), Buffer.alloc(8 << 20, 'x'));
  t.equal((await taskio(root, ['run', '--name', 'box', '--runtime', 'host', '--', 'true'])).status, 0);
  // The helper's tar (host tar: `tar -c -f - -C T -- big`), not the client, whose argv names T too.
  const helperTar = (): number[] => processesOf(`\0-C\0${T}\0`);
  t.teardown(() => { for (const pid of helperTar()) process.kill(pid, 'SIGKILL'); });
  const cli = spawn(process.execPath, ['--', cliMain, 'cp', `box:${T}/big`, '-'], { env: taskioEnv(root), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  cli.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const ended = new Promise<Awaited<StalledCopy['ended']>>((resolve) => cli.once('close', (code, signal) => resolve({ code, signal, stderr })));
  const killClient = async (): Promise<void> => { cli.kill('SIGKILL'); await ended; };
  t.teardown(killClient);
  // Output reaches the client once the daemon answered the exec: the helper runs, its process recorded.
  await new Promise((resolve) => cli.stdout!.once('data', resolve));
  cli.stdout!.pause();
  t.equal(helperTar().length, 1, 'the helper\'s tar runs');
  return { cli, ended, helperTar, killClient };
}

/** Waits until `box`'s copy helper of `root` is gone (`helperTar`: its process), then starts `box`. */
async function helperEndedThenStart(t: Test, root: string, helperTar: () => number[]): Promise<void> {
  await eventually(() => helperTar().length === 0, 'the helper\'s tar to be ended');
  await eventually(() => !fs.readdirSync(path.join(root, 'tasks', 'box')).some((n) => n.startsWith('cp-')), 'the helper\'s directory to be removed');
  const start = await taskio(root, ['start', 'box']);
  t.same([start.status, start.stderr], [0, ''], 'the task starts');
}

// Nobody read the helper's output any more: its tar blocked for ever, and the task could not be
// started ("a copy into or out of it runs") until it was removed or the daemon restarted.
t.test('host: a copy out of an exited task whose client is killed ends its helper; nothing left, and the task starts', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const { helperTar, killClient } = await stalledCopy(t, root);
  await killClient();
  await helperEndedThenStart(t, root, helperTar);
});

// A client killed after the helper started but before its wait reached the daemon: no wait ends,
// so the helper is ended once none came within the grace (the CI run that found it: one in ~30).
t.test('host: a copy helper no client ever waits for is ended after the grace; the task starts', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  t.equal((await taskio(root, ['run', '--name', 'box', '--runtime', 'host', '--', 'true'])).status, 0);
  const c = await client(root);
  t.teardown(() => c.close());
  const marker = `0.${process.pid}`; // an argument sleep sums, which names this test's helper
  const helper = (): number[] => processesOf(`\0${marker}\0`);
  t.teardown(() => { for (const pid of helper()) process.kill(pid, 'SIGKILL'); });
  await c.exec('box', { args: ['sleep', '1000', marker], user: '0:0', helper: true });
  t.equal(helper().length, 1, 'the helper runs, and no wait is asked for');
  const start = await taskio(root, ['start', 'box']);
  t.equal(start.status, 125, 'the task does not start while it runs');
  await helperEndedThenStart(t, root, helper);
});

// It printed "taskio: write EPIPE" and exited 125.
t.test('host: cp out of an exited task to - into a pipe whose reader goes away: 141, quiet, as docker\'s SIGPIPE; its helper ended, and the task starts', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const { cli, ended, helperTar } = await stalledCopy(t, root);
  cli.stdout!.destroy();
  t.same(await ended, { code: 141, signal: null, stderr: '' });
  await helperEndedThenStart(t, root, helperTar);
});

t.test('host: a daemon SIGKILLed while a copy out of an exited task writes leaves its tar blocked on the FIFO; the next one kills it as it adopts the task', { timeout: 60_000 }, async (t) => {
  const root = daemonRoot(t);
  const { helperTar, killClient } = await stalledCopy(t, root);
  const pid = daemonPid(root);
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);
  await killClient();
  const c = await client(root); // the next daemon (the client may have started it already)
  t.teardown(() => c.close());
  t.match(await c.getTask('box'), { status: 'exited' }, 'the task is adopted');
  t.same(helperTar(), [], 'the helper\'s tar was killed');
  t.same(fs.readdirSync(path.join(root, 'tasks', 'box')).filter((n) => n.startsWith('cp-')), [], 'its directory is gone');
  t.match(fs.readFileSync(path.join(root, 'daemon.log'), 'utf8'), /"id":"box".*killed the process of a copy helper a killed daemon left/, 'the daemon log says so');
});

/**
 * A hostile task: its `tar` (first on its PATH, which the exec inherits) prints an archive made in
 * it of `d/evil -> OUTSIDE`, `d/up -> ../..`, then `d/evil/pwned` and `d/up/pwned-up` (through
 * those links), or (`sibling`) a member beside `d` after the links.
 */
const hostileScript = `set -e
outside=$1
mkdir -p /tmp/h/w1/d /tmp/h/w2/d/evil /tmp/h/w2/d/up /tmp/h/w3 /tmp/d && cd /tmp/h
ln -s "$outside" w1/d/evil; ln -s ../.. w1/d/up
echo pwned > w2/d/evil/pwned; echo pwned > w2/d/up/pwned-up; echo pwned > w3/sibling
tar -cf a1 -C w1 d; tar -cf a2 -C w2 d/evil/pwned d/up/pwned-up; tar -cf a3 -C w3 sibling
# busybox tar ends an archive with exactly two zero blocks: cut them to join archives.
body() { head -c $(( $(wc -c < "$1") - 1024 )) "$1"; }
{ body a1; cat a2; } > links.tar
{ body a1; cat a3; } > sibling.tar
printf '#!/bin/sh\\ncat /tmp/h/$ARCHIVE\\n' > tar; chmod +x tar
`;

for (const [archive, why] of [['links.tar', 'links out of the destination'], ['sibling.tar', 'a member beside the copied directory']] as const) {
  t.test(`runc: a hostile task's archive (${why}) writes nothing outside the destination`, { timeout: 120_000 }, async (t) => {
    const root = daemonRoot(t);
    const outside = path.join(root, 'outside');
    const P = path.join(root, 'P');
    fs.mkdirSync(outside);
    fs.mkdirSync(P);
    const run = await taskio(root, ['run', '-d', '--name', 'evil', '--runtime', 'runc', '-e', 'PATH=/tmp/h:/usr/bin:/bin', '-e', `ARCHIVE=${archive}`, '--', 'sleep', '1000']);
    t.equal(run.status, 0);
    t.equal((await taskio(root, ['exec', '-i', 'evil', 'sh', '-s', outside], hostileScript)).status, 0);
    const r = await taskio(root, ['cp', 'evil:/tmp/d', `${P}/copy`]);
    t.equal(r.status, 125);
    t.equal(r.stderr, archive === 'sibling.tar'
      ? 'taskio cp: tar member "sibling" is not under "d": refused (an archive of "d" holds nothing else)\n'
      : `taskio cp: tar member "copy/evil/pwned" would be written through the symbolic link "${P}/copy/evil": refused\n`);
    t.same(fs.readdirSync(outside), [], 'nothing through the absolute link');
    t.same(fs.readdirSync(root).filter((n) => n.startsWith('pwned')), [], 'nothing through the ../.. link');
    // The extraction stops where the refusal came: what it made before stays, inside the destination.
    t.same(fs.readdirSync(P).filter((n) => n !== 'copy'), [], 'nothing beside the destination');
    // treeOf does not follow the links the extraction made (Node's recursive readdir of names does: ELOOP).
    t.same(treeOf(P).filter((n) => n.includes('pwned')), [], 'nothing through the links inside it either');
  });
}

// GNU tar guards only against the links it made itself in a run: one a first copy left in the
// destination, it followed in the next, writing as root wherever the task's link pointed.
t.test('runc: a hostile task copied twice into the same destination writes nothing through the link its first copy left there', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  const outside = path.join(root, 'outside');
  const A = path.join(root, 'artifacts');
  fs.mkdirSync(outside);
  fs.mkdirSync(A);
  t.equal((await taskio(root, ['run', '-d', '--name', 'evil', '--runtime', 'runc', '-e', 'PATH=/tmp/h:/usr/bin:/bin', '--', 'sleep', '1000'])).status, 0);
  const sh = async (script: string, ...args: string[]): Promise<void> => {
    t.equal((await taskio(root, ['exec', '-i', 'evil', 'sh', '-s', ...args], script)).status, 0);
  };
  await sh('set -e; mkdir /tmp/out; echo ok > /tmp/out/ok; ln -s "$1" /tmp/out/b', outside);
  const first = await taskio(root, ['cp', 'evil:/tmp/out/.', A]);
  t.same([first.status, first.stderr], [0, ''], 'the first copy: a link is copied as a link, as docker does');
  t.equal(fs.readlinkSync(path.join(A, 'b')), outside);
  // Then the task's tar prints b/pwned alone: no b/ directory member, which tar would put in the link's place.
  await sh(`set -e; mkdir -p /tmp/h /tmp/w/b; echo pwned > /tmp/w/b/pwned; cd /tmp/w; tar -cf /tmp/h/b.tar ./b/pwned
printf '#!/bin/sh\\ncat /tmp/h/b.tar\\n' > /tmp/h/tar; chmod +x /tmp/h/tar`);
  const second = await taskio(root, ['cp', 'evil:/tmp/out/.', A]);
  t.same([second.status, second.stderr], [125, `taskio cp: tar member "b/pwned" would be written through the symbolic link "${A}/b": refused\n`]);
  t.same(fs.readdirSync(outside), [], 'nothing written through the link');
});
