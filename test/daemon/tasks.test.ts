import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import type { DaemonClient, RuntimeName } from '../../src/daemon/index.js';
import { isGone, processesMentioning } from '../fixtures/oci.js';
import { client, daemonRoot, eventually, runtimeIdOf } from './helpers.js';
import { tmpDir } from '../helpers/common.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

/** A Writable that keeps what it gets. */
function collector(): Writable & { text(): string } {
  const chunks: Buffer[] = [];
  const w = new Writable({ write(ch: Buffer, _e, cb) { chunks.push(Buffer.from(ch)); cb(); } });
  return Object.assign(w, { text: () => Buffer.concat(chunks).toString() });
}

async function logsOf(id: string, opts: { timestamps?: boolean; tail?: number } = {}): Promise<{ out: string; err: string }> {
  const out = collector(), err = collector();
  await c.logs(id, { stdout: out, stderr: err }, opts);
  return { out: out.text(), err: err.text() };
}

/** Nothing of task `id` is left: directory, runtime state, processes. */
function gone(t: Test, id: string, runtime: RuntimeName): void {
  t.notOk(fs.existsSync(path.join(root, 'tasks', id)), `${id}: directory removed`);
  if (runtime !== 'host') {
    const list = spawnSync(runtime, ['--root', path.join(root, 'runtime', runtime), 'list', '--format', 'json'], { encoding: 'utf8' });
    const ids = (JSON.parse(list.stdout || 'null') as { id: string }[] | null ?? []).map((x) => x.id);
    t.notOk(ids.includes(runtimeIdOf(root, runtime, id)), `${id}: no ${runtime} state`);
  }
  t.same(processesMentioning(path.join(root, 'tasks', id)), [], `${id}: no process`);
}

for (const runtime of ['runsc', 'runc', 'host'] as const) {
  t.test(`${runtime}: run, logs, exit code, rm leaves nothing`, { timeout: 120_000 }, async (t) => {
    const id = `basic-${runtime}`;
    const task = await c.createTask({ id, runtime, args: ['sh', '-c', 'echo out; echo err >&2; printf partial; exit 7'] });
    t.equal(task.status, 'running');
    t.equal(task.runtime, runtime);
    const exit = await c.wait(id);
    t.equal(exit.exitCode, 7);
    t.equal(exit.signal, null);
    t.match(exit.exitedAt, /^\d{4}-/);
    const view = await c.getTask(id);
    t.equal(view.status, 'exited');
    t.same(view.exit, exit);
    t.same(JSON.parse(fs.readFileSync(path.join(root, 'tasks', id, 'exit'), 'utf8')), exit, 'the exit file holds it');
    const logs = await logsOf(id);
    // CRI ends an unfinished last line with an F entry (an empty one after the P the writer made
    // of it if the task was quiet for 50 ms before its end): it reads back with a newline.
    t.equal(logs.out, 'out\npartial\n', 'stdout as written');
    t.equal(logs.err, 'err\n');
    // The tail counts lines (a P entry with its F once); stderr's copy may write its line after
    // stdout's last one, so the last two lines hold stdout's last.
    const stamped = await logsOf(id, { timestamps: true, tail: 2 });
    t.match(stamped.out, /(^|\n)\d{4}-\d\d-\d\dT[\d:.]+Z partial\n$/, 'the last line with a timestamp');
    t.same((await c.listTasks()).map((x) => x.id), [], 'ps hides exited tasks');
    t.same((await c.listTasks({ all: true })).map((x) => x.id), [id], 'ps -a shows them');
    await c.remove(id);
    gone(t, id, runtime);
    await t.rejects(c.getTask(id), { code: 'ERR_NOT_FOUND', status: 404 });
  });

  t.test(`${runtime}: stdin, close-stdin, exec, top, stats, pause, kill`, { timeout: 120_000 }, async (t) => {
    const id = `ops-${runtime}`;
    await c.createTask({ id, runtime, stdin: true, args: ['sh', '-c', 'cat; echo "cat done"; exec sleep 1000'] });
    // Input through an attach (log mode), then EOF through close-stdin.
    const out = collector();
    const input = new PassThrough();
    const att = await c.attach(id, { stdin: input, stdout: out, detachKeys: '' });
    input.write('hello\n');
    await eventually(() => out.text().includes('hello\n'), 'the echo of stdin');
    await c.closeStdin(id);
    await eventually(() => out.text().includes('cat done\n'), 'cat to see EOF');
    att.detach();
    t.equal(await att.done, 'detached');
    // exec: a FIFO set made by this client, the exit code through the API.
    const eout = collector(), eerr = collector();
    const ex = await c.exec(id, { args: ['sh', '-c', 'echo in-exec; echo e >&2; exit 5'], stdout: eout, stderr: eerr });
    const eexit = await ex.wait();
    t.equal(eexit.exitCode, 5, 'exec exit code');
    t.equal(eout.text(), 'in-exec\n');
    t.equal(eerr.text(), 'e\n');
    t.same(fs.readdirSync(path.join(root, 'fifo')), [], 'the exec FIFO set is removed');
    // An input that ended before the process exists (a short pipe): all of it arrives, then EOF.
    // The stdin close must wait for the client's FIFO writer, which opens only after the daemon
    // made the process's reader; closed at the end of the input, cat read EOF with nothing.
    for (let i = 0; i < 3; i++) {
      const iout = collector(), input = new PassThrough();
      input.end('x\ny\n');
      const cat = await c.exec(id, { args: ['cat'], stdin: input, stdout: iout });
      t.equal((await cat.wait()).exitCode, 0, 'the end of the input ends cat');
      t.equal(iout.text(), 'x\ny\n', `an ended input reaches the exec whole (${i + 1})`);
    }
    const top = await c.top(id);
    t.same(top.titles, ['PID', 'PPID', 'COMMAND']);
    t.ok(top.processes.length >= 1, 'top lists the task');
    t.ok(top.processes.some((p) => p[2]!.includes('sleep')), 'and names its command (runsc: from its own process table)');
    const stats = await c.stats(id);
    t.ok(stats.memory.usage > 0, 'stats: memory');
    t.ok(stats.pids.current >= 1, 'stats: pids');
    t.type(stats.cpuPercent, 'number');
    await c.pause(id);
    t.equal((await c.getTask(id)).status, 'paused');
    await t.rejects(c.pause(id), { code: 'ERR_INVALID_STATE', status: 409 });
    await c.resume(id);
    t.equal((await c.getTask(id)).status, 'running');
    // The task is its container's pid 1, which ignores TERM without a handler: KILL (docker kill's default).
    await c.kill(id);
    const exit = await c.wait(id);
    t.equal(exit.exitCode, 128 + 9);
    t.equal(exit.signal, 'SIGKILL');
    await t.rejects(c.kill(id, 'TERM'), { code: 'ERR_INVALID_STATE', message: `task ${id} is not running` });
    await c.remove(id);
    gone(t, id, runtime);
  });
}

t.test('a removal queued behind another finds no task (404), as docker answers after a rm', { timeout: 60_000 }, async (t) => {
  const id = 'removed-twice';
  await c.createTask({ id, runtime: 'host', args: ['sleep', '1000'] });
  // Sent together: the task's queue runs one removal (which kills it), then the other finds it gone.
  const both = await Promise.allSettled([c.remove(id, { force: true }), c.remove(id, { force: true })]);
  t.equal(both.filter((r) => r.status === 'fulfilled').length, 1, 'one removal did it');
  const refused = both.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.match(refused?.reason, { code: 'ERR_NOT_FOUND', status: 404 }, 'the other found no task');
  await t.rejects(c.kill(id), { code: 'ERR_NOT_FOUND', status: 404, message: `no such task: ${id}` }, 'nor does a kill after it');
  gone(t, id, 'host');
});

t.test('terminal: the size set through resize reaches the task', { timeout: 60_000 }, async (t) => {
  const id = 'tty';
  await c.createTask({ id, runtime: 'runc', terminal: true, stdin: true, args: ['sh', '-c', 'read x; stty size; exit 0'] });
  await c.resize(id, { cols: 123, rows: 45 });
  const out = collector();
  const input = new PassThrough();
  const att = await c.attach(id, { stdin: input, stdout: out });
  input.write('go\r');
  t.equal(await att.done, 'exited');
  t.match(out.text(), /45 123/);
  t.equal((await c.wait(id)).exitCode, 0);
  await t.rejects(c.resize('basic-none', { cols: 1, rows: 1 }), { code: 'ERR_NOT_FOUND' });
  await c.remove(id);
});

t.test('a task sees its limits as in docker: runc under /sys/fs/cgroup (read-only), runsc in /proc/meminfo', { timeout: 90_000 }, async (t) => {
  const limit = 48 * 1024 * 1024;
  // cgroup v1 hierarchies here; cgroup2's files where the machine has only that.
  const script = 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; ' +
    'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; ' +
    // The hierarchy itself: on v1 runc 1.1 leaves the tmpfs that holds the hierarchies writable by root.
    'd=/sys/fs/cgroup/memory; [ -d $d ] || d=/sys/fs/cgroup; touch $d/x 2>/dev/null || echo ro; ' +
    'grep MemTotal /proc/meminfo; mount | grep -c " /dev/mqueue type mqueue " || true';
  const seen = async (runtime: 'runc' | 'runsc'): Promise<string[]> => {
    const id = `sees-${runtime}`;
    // No pids limit on runsc: the sandbox's own threads (sentry, gofer) count against it on the host.
    await c.createTask({ id, runtime, args: ['sh', '-c', script], limits: runtime === 'runc' ? { memory: limit, pids: 33 } : { memory: limit } });
    t.equal((await c.wait(id)).exitCode, 0, `${runtime}: ran`);
    const { out } = await logsOf(id);
    await c.remove(id);
    return out.trim().split('\n');
  };
  const runc = await seen('runc');
  t.same(runc.slice(0, 3), [String(limit), '33', 'ro'], 'runc: the memory and pids limits, on a read-only mount');
  t.equal(runc[4], '1', 'runc: /dev/mqueue is mounted');
  const runsc = await seen('runsc');
  t.match(runsc.find((l) => l.startsWith('MemTotal')), new RegExp(`^MemTotal: +${limit / 1024} kB$`), 'runsc: the memory limit as the sandbox\'s total memory');
});

/** What a refused runsc start of task `id` must not leave: the task, a sandbox or gofer, a cgroup, runsc state or its lock file. */
async function noSandboxLeft(t: Test, id: string): Promise<void> {
  t.same((await c.listTasks({ all: true })).map((x) => x.id), [], 'no task');
  t.same(processesMentioning(id), [], 'no sandbox or gofer left');
  const cgroups = fs.readdirSync('/sys/fs/cgroup').map((h) => path.join('/sys/fs/cgroup', h, 'taskio-containers'))
    .filter((d) => fs.existsSync(d)).flatMap((d) => fs.readdirSync(d).filter((e) => e.endsWith(id)));
  t.same(cgroups, [], 'no cgroup left');
  t.same(fs.readdirSync(path.join(root, 'runtime', 'runsc')).filter((e) => e.includes(runtimeIdOf(root, 'runsc', id))), [], 'no runsc state or lock file left');
}

t.test('a runsc pids limit too low for its sandbox: the runtime\'s error says why, nothing is left', { timeout: 90_000 }, async (t) => {
  const id = 'pids-too-low';
  // At 5 the gofer cannot start; at 1 runsc's own Go runtime dies, which an attached run (--rm)
  // had reported as the task's exit 2, its stack dump as the task's output.
  for (const [pids, autoRemove] of [[5, false], [1, true]] as const) {
    await t.rejects(c.createTask({ id, runtime: 'runsc', args: ['true'], limits: { pids }, autoRemove }), {
      code: 'ERR_RUNTIME', message: new RegExp(`runsc counts its sandbox's own threads against the pids limit \\(${pids}\\): raise --pids-limit$`),
    }, `pids ${pids}${autoRemove ? ', --rm' : ''}`);
  }
  await noSandboxLeft(t, id);
});

t.test('a runsc memory limit too small for its sandbox: the runtime\'s error says why, nothing is left', { timeout: 90_000 }, async (t) => {
  const id = 'memory-too-low';
  // runsc, the sentry and the gofer run in the task's memory cgroup: at 8 MiB the OOM killer ends runsc (137).
  for (const autoRemove of [false, true]) {
    await t.rejects(c.createTask({ id, runtime: 'runsc', args: ['true'], limits: { memory: 8 * 1024 * 1024 }, autoRemove }), {
      code: 'ERR_RUNTIME', message: /\(exit status 137\); runsc's sandbox runs in the task's memory cgroup and was killed at its memory limit \(8 MiB\): a sandbox needs about 16 MiB, raise --memory$/,
    }, `8 MiB${autoRemove ? ', --rm' : ''}`);
  }
  await noSandboxLeft(t, id);
});

t.test('limits: a memory limit is the task\'s (runsc and runc cgroups; host job object)', { timeout: 90_000 }, async (t) => {
  const limit = 64 * 1024 * 1024;
  const runc = await c.createTask({ id: 'lim-runc', runtime: 'runc', args: ['sleep', '1000'], limits: { memory: limit, pids: 20, cpus: 0.5 } });
  t.match(fs.readFileSync(`/proc/${runc.pid}/cgroup`, 'utf8'), /memory:\/taskio-containers\/taskio-[0-9a-f]{8}-lim-runc\n/,
    'the runc task\'s cgroup is named after the root and the id');
  const s = await c.stats('lim-runc');
  t.equal(s.memory.limit, limit, 'runc reports the memory limit');
  t.equal(s.pids.limit, 20, 'and the pids limit');
  await c.remove('lim-runc', { force: true });
  const cgroupDir = (id: string): string => `/sys/fs/cgroup/memory/taskio-containers/${fs.readdirSync('/sys/fs/cgroup/memory/taskio-containers').find((d) => d.endsWith(`-${id}`)) ?? `none-${id}`}`;
  t.notOk(fs.existsSync(cgroupDir('lim-runc')), 'rm removed its cgroup');
  // runsc: the sandbox's cgroup, named the same way, holds the limit.
  const runsc = await c.createTask({ id: 'lim-runsc', runtime: 'runsc', args: ['sleep', '1000'], limits: { memory: limit } });
  t.match(fs.readFileSync(`/proc/${runsc.pid}/cgroup`, 'utf8'), /memory:\/taskio-containers\/taskio-[0-9a-f]{8}-lim-runsc\n/,
    'the runsc sandbox\'s cgroup is named after the root and the id');
  t.equal(fs.readFileSync(path.join(cgroupDir('lim-runsc'), 'memory.limit_in_bytes'), 'utf8').trim(), String(limit), 'and holds the limit');
  t.equal((await c.stats('lim-runsc')).memory.limit, limit, 'which stats report (runsc itself says 0)');
  await c.remove('lim-runsc', { force: true });
  t.notOk(fs.existsSync(cgroupDir('lim-runsc')), 'rm removed the runsc cgroup');
  // Over its limit, the task is OOM-killed: docker's oom event comes before the exit, also when the
  // task is killed before its start is even answered (the counter is taken before it runs).
  for (const runtime of ['runc', 'runsc', 'host'] as const) {
    const id = `hog-${runtime}`;
    const ac = new AbortController();
    const seen: string[] = [];
    const hogEvents = await c.events({ id, signal: ac.signal });
    const reading = (async () => {
      for await (const e of hogEvents) {
        seen.push(e.type);
        if (e.type === 'exit') ac.abort();
      }
    })();
    await c.createTask({ id, runtime, args: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=200M', 'count=1'], limits: { memory: 16 * 1024 * 1024 } });
    t.equal((await c.wait(id)).exitCode, 137, `${runtime}: killed`);
    await reading;
    t.same(seen.filter((e) => e !== 'create' && e !== 'start'), ['oom', 'exit'], `${runtime}: oom, then exit`);
    await c.remove(id);
    if (runtime !== 'host') t.notOk(fs.existsSync(cgroupDir(id)), `${runtime}: rm removed its cgroup`);
  }
  const host = await c.createTask({ id: 'lim-host', runtime: 'host', args: ['sleep', '1000'], limits: { memory: limit, cpus: 1 } });
  const cg = fs.readFileSync(`/proc/${host.pid}/cgroup`, 'utf8');
  t.match(cg, /memory:\/taskio\/taskio-[0-9a-f]{8}-lim-host/, 'the host task was born in its job object');
  await c.remove('lim-host', { force: true });
  await eventually(() => isGone(host.pid), 'the host task to be gone');
  t.notOk(cg.split('\n').some((l) => {
    const p = l.split(':')[2];
    return p && l.startsWith('4:') && fs.existsSync(`/sys/fs/cgroup/memory${p}`);
  }), 'its cgroup is removed');
});

t.test('log URIs: a raw log elsewhere, CRI with rotation; FIFO mode has no log', { timeout: 60_000 }, async (t) => {
  // Outside the daemon's root: a log a client names may not lie in it.
  const dir = tmpDir(t, 'taskio-tasks-logs-');
  const raw = path.join(dir, 'raw.log');
  await c.createTask({ id: 'rawlog', runtime: 'host', log: `file://${raw}`, args: ['sh', '-c', 'echo one; echo two >&2'] });
  await c.wait('rawlog');
  await eventually(async () => fs.existsSync(raw) && fs.readFileSync(raw, 'utf8').length === 8, 'the raw log');
  t.same(fs.readFileSync(raw, 'utf8').split('\n').sort(), ['', 'one', 'two']);
  const cri = path.join(dir, 'cri.log');
  await c.createTask({ id: 'rotated', runtime: 'host', log: `file://${cri}?format=cri&maxSize=4KB&maxFiles=3`, args: ['sh', '-c', 'i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo line-$i; done'] });
  await c.wait('rotated');
  t.ok(fs.existsSync(`${cri}.1`), 'the log rotated');
  const tail = await logsOf('rotated', { tail: 2 });
  t.equal(tail.out, 'line-299\nline-300\n');
  await c.createTask({ id: 'fifo-only', runtime: 'host', log: 'none', args: ['true'] });
  await t.rejects(c.logs('fifo-only', {}), { code: 'ERR_NO_LOG', status: 409 });
  // A log replaced behind the daemon's back is an error answer, not a 200 with nothing in it.
  const swapped = path.join(dir, 'swapped.log');
  await c.createTask({ id: 'swapped', runtime: 'host', log: `file://${swapped}?format=cri`, args: ['echo', 'hi'] });
  await c.wait('swapped');
  fs.rmSync(swapped);
  fs.symlinkSync('/etc/passwd', swapped);
  await t.rejects(c.logs('swapped', {}), { code: 'ERR_NOT_REGULAR_FILE', message: /is not a regular file \(it is a symbolic link\)/ }, 'a symlink');
  fs.rmSync(swapped);
  spawnSync('mkfifo', [swapped]);
  await t.rejects(c.logs('swapped', { stdout: new PassThrough() }, { follow: true }), { code: 'ERR_NOT_REGULAR_FILE', message: /\(it is a FIFO\)/ }, 'a FIFO, followed');
  for (const id of ['rawlog', 'rotated', 'fifo-only', 'swapped']) await c.remove(id, { force: true });
  t.ok(fs.existsSync(raw), 'a log the user put elsewhere stays');
});

t.test('events: create, start, exit, delete as ndjson', { timeout: 60_000 }, async (t) => {
  const ac = new AbortController();
  const seen: string[] = [];
  const evtEvents = await c.events({ id: 'evt', signal: ac.signal });
  const reading = (async () => {
    for await (const e of evtEvents) {
      seen.push(`${e.type}${e.exitCode !== undefined ? `:${e.exitCode}` : ''}`);
      if (e.type === 'delete') ac.abort();
    }
  })();
  await c.createTask({ id: 'evt', runtime: 'host', args: ['sh', '-c', 'exit 4'] });
  await c.wait('evt');
  await c.remove('evt');
  await reading;
  t.same(seen, ['create', 'start', 'exit:4', 'delete']);
});
