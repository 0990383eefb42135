import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { DaemonClient } from '../../src/daemon/index.js';
import { OutputKeeper } from '../../src/daemon/outputKeeper.js';
import type { RuntimeName } from '../../src/daemon/records.js';
import { mkfifo } from '../../src/sys/index.js';
import { isGone } from '../fixtures/oci.js';
import { tmpDir } from '../helpers/common.js';
import { client, daemonPid, daemonRoot, eventually, fdsOf, logText, waitGone } from './helpers.js';

// A task's output keeper holds its output FIFOs (and a terminal's pty master) while no daemon runs:
// without it a task that exits then is the last holder of its pipes, and what the killed daemon had
// not read goes with them. Each task here waits for SIGUSR1 — sent by the test once the daemon is
// gone — then prints its last words and exits, so the order is the test's, not a sleep's.
const lastWords = 'trap "echo last-words; exit 3" USR1; echo first; while :; do sleep 0.05; done';

interface Kept { pid: number; masterFd?: number; stdinFd?: number }
type KeeperField = 'outputKeeper' | 'inputKeeper';

function keeperOf(root: string, id: string, field: KeeperField = 'outputKeeper'): Kept | undefined {
  return (JSON.parse(fs.readFileSync(path.join(root, 'tasks', id, 'task.json'), 'utf8')) as Record<KeeperField, Kept | undefined>)[field];
}

/** Task `id`'s keeper, killed at the test's end should the test fail before it went (the root's cleanup knows no keepers). */
function trackKeeper(t: Test, root: string, id: string, field: KeeperField = 'outputKeeper'): Kept | undefined {
  const keeper = keeperOf(root, id, field);
  t.teardown(() => { if (keeper && isKeeper(keeper.pid)) process.kill(keeper.pid, 'SIGKILL'); });
  return keeper;
}

/** Whether `pid` is a live keeper (not a process that reused its pid). */
function isKeeper(pid: number): boolean {
  try {
    return /^taskio-(output|console|input)-keeper\0/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')) && !isGone(pid);
  } catch {
    return false;
  }
}

/** The daemon's fds on anything of task `id` (its FIFOs) and on pty masters: none once its output was drained. */
function taskFds(root: string, id: string): string[] {
  return fdsOf(daemonPid(root)).filter((f) => f.startsWith(path.join(root, 'tasks', id)) || /ptmx$/.test(f));
}

/** Reads what FIFO fd `fd` (non-blocking) holds now: up to EAGAIN, or EOF. */
function readAvailable(fd: number): string {
  const buf = Buffer.alloc(65536);
  let text = '';
  for (;;) {
    let n = 0;
    try {
      n = fs.readSync(fd, buf);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') return text;
      throw err;
    }
    if (n === 0) return text;
    text += buf.toString('utf8', 0, n);
  }
}

/** Reads what FIFO `fifo` holds now (the test's fd is closed again, so it holds nothing). */
function readNow(fifo: string): string {
  const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    return readAvailable(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** A root of the test's own and a client of its daemon (started on demand). */
async function daemonOf(t: Test): Promise<{ root: string; c: DaemonClient }> {
  const root = daemonRoot(t);
  const c = await client(root);
  t.teardown(() => c.close());
  return { root, c };
}

/** `rm -f` of task `id`: its keeper goes, and the daemon holds no fd of it. */
async function removeForce(t: Test, c: DaemonClient, root: string, id: string, keeper: Kept | undefined): Promise<void> {
  await c.remove(id, { force: true });
  await waitGone(keeper!.pid);
  t.notOk(isKeeper(keeper!.pid), 'rm -f: the keeper is gone');
  t.same(taskFds(root, id), [], 'no fd of the task left in the daemon');
}

/**
 * A FIFO-mode host task `id` (`terminal`: with `-t`) that waits for its last words, once its first
 * line is in its stdout FIFO (read out of it), and its output keeper.
 */
async function fifoModeTask(t: Test, c: DaemonClient, root: string, id: string, terminal: boolean): Promise<{ task: { pid: number }; stdout: string; keeper: Kept | undefined }> {
  const task = await c.createTask({ id, runtime: 'host', terminal, log: 'none', args: ['sh', '-c', lastWords] });
  const stdout = path.join(root, 'tasks', id, `${id}-stdout`);
  let seen = '';
  await eventually(() => (seen += readNow(stdout)).includes('first'), 'the first line in the FIFO', 60_000);
  const keeper = trackKeeper(t, root, id);
  t.ok(keeper && isKeeper(keeper.pid), 'the record names a running output keeper');
  t.equal(keeper?.masterFd !== undefined, terminal, terminal ? 'it holds the pty master' : 'it holds no pty master');
  return { task, stdout, keeper };
}

/** SIGKILLs the daemon of `root` and waits until it is gone. */
async function killDaemon(root: string): Promise<void> {
  const pid = daemonPid(root);
  if (pid === 0) throw new Error(`no daemon runs in ${root}`); // kill(0) would be this test's own process group
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);
}

/**
 * The task says its last words and exits while no daemon runs (`meanwhile` is done once the daemon
 * is gone); the next request starts a daemon that adopts it.
 */
async function exitWhileNoDaemon(t: Test, c: DaemonClient, root: string, id: string, pid: number, meanwhile = (): void => undefined): Promise<void> {
  await killDaemon(root);
  meanwhile();
  process.kill(pid, 'SIGUSR1');
  await eventually(() => isGone(pid), 'the task to exit');
  const v = (await c.listTasks({ all: true })).find((x) => x.id === id);
  t.equal(v?.status, 'exited', 'ps: exited');
  t.equal(v?.exit?.exitCode, 3, 'its own exit code, from the exit recorder above the killed daemon');
}

t.test('stop settles once the keeper is gone, holding nothing: a rm answers after it, as docker\'s rm -f once the container is gone', { timeout: 30_000 }, async (t) => {
  const dir = tmpDir(t);
  const fifo = path.join(dir, 'k-stdout');
  mkfifo(fifo);
  // Several: a SIGKILLed sleep often dies before a look right after the kill, rarely every one of them.
  for (let i = 0; i < 20; i++) {
    const keeper = OutputKeeper.spawn([fifo], null);
    const { pid } = keeper.record;
    t.teardown(() => { if (isKeeper(pid)) process.kill(pid, 'SIGKILL'); });
    const stopped = keeper.stop();
    t.equal(keeper.stop(), stopped, 'a second stop settles with the first');
    await stopped;
    if (isKeeper(pid) || OutputKeeper.holding(dir).length > 0) return void t.fail(`keeper ${i} (${pid}) still there as its stop settled`);
  }
  t.pass('each keeper was gone, and held the FIFO no more, as its stop settled');
});

const cases: { runtime: RuntimeName; terminal: boolean }[] = [
  { runtime: 'host', terminal: false }, { runtime: 'host', terminal: true }, { runtime: 'runc', terminal: false },
];
for (const { runtime, terminal } of cases) {
  t.test(`${runtime}${terminal ? ' -t' : ''}: a task that exits while no daemon runs has its last output in the log, and its keeper goes`, { timeout: 120_000 }, async (t) => {
    const { root, c } = await daemonOf(t);
    const task = await c.createTask({ id: 'lw', runtime, terminal, args: ['sh', '-c', lastWords] });
    await eventually(async () => (await logText(c, 'lw')).includes('first'), 'the first line in the log', 60_000);
    const keeper = trackKeeper(t, root, 'lw');
    t.ok(keeper && isKeeper(keeper.pid), 'the record names a running output keeper');
    t.equal(keeper?.masterFd !== undefined, terminal, terminal ? 'it holds the pty master' : 'it holds no pty master');

    await exitWhileNoDaemon(t, c, root, 'lw', task.pid);
    await c.wait('lw');
    t.match(await logText(c, 'lw'), /first\r?\n(.*\n)*last-words\r?\n/, 'the log has what the task printed while no daemon ran');
    await waitGone(keeper!.pid);
    t.notOk(isKeeper(keeper!.pid), 'the keeper is gone once the output was drained');
    await eventually(() => taskFds(root, 'lw').length === 0, 'the daemon to let go of the task\'s FIFOs');
    t.same(taskFds(root, 'lw'), [], 'no fd of the task left in the daemon');
    await c.remove('lw');
    t.notOk(fs.existsSync(path.join(root, 'tasks', 'lw')), 'removed: no FIFO left');
  });
}

t.test('host, FIFO mode: what a task printed while no daemon ran waits in its FIFO for the client', { timeout: 120_000 }, async (t) => {
  const { root, c } = await daemonOf(t);
  const { task, stdout, keeper } = await fifoModeTask(t, c, root, 'ff', false);

  await exitWhileNoDaemon(t, c, root, 'ff', task.pid);
  t.match(readNow(stdout), /last-words/, 'the client reads what the task printed while no daemon ran');
  await waitGone(keeper!.pid);
  t.notOk(isKeeper(keeper!.pid), 'the keeper is gone (the daemon\'s keep-alive held the pipe)');
  await c.remove('ff');
  t.same(taskFds(root, 'ff'), [], 'no fd of the task left in the daemon after rm');
});

t.test('host: a running task adopted keeps its keeper and its output flows; rm removes the keeper', { timeout: 120_000 }, async (t) => {
  const { root, c } = await daemonOf(t);
  const counter = 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.01; done';
  await c.createTask({ id: 'run', runtime: 'host', args: ['sh', '-c', counter] });
  const lines = async (): Promise<number> => (await logText(c, 'run')).split('\n').filter(Boolean).length;
  await eventually(async () => (await lines()) >= 10, 'output in the log', 60_000);
  const keeper = trackKeeper(t, root, 'run');
  t.ok(keeper && isKeeper(keeper.pid), 'the record names a running output keeper');

  await killDaemon(root);
  const v = await c.getTask('run');
  t.equal(v.status, 'running', 'adopted running');
  t.equal(v.adopted, true, 'adopted');
  const mark = await lines();
  await eventually(async () => (await lines()) >= mark + 20, 'the log goes on after the adoption', 60_000);
  t.equal(keeperOf(root, 'run')?.pid, keeper!.pid, 'the same keeper is recorded');
  t.ok(isKeeper(keeper!.pid), 'the keeper runs on while the task runs');

  await removeForce(t, c, root, 'run', keeper);
});

t.test('host: rm -f of a task this daemon started removes its keeper', { timeout: 60_000 }, async (t) => {
  const { root, c } = await daemonOf(t);
  await c.createTask({ id: 'sl', runtime: 'host', args: ['sleep', '1000'] });
  const keeper = trackKeeper(t, root, 'sl');
  t.ok(keeper && isKeeper(keeper.pid), 'the record names a running output keeper');
  await removeForce(t, c, root, 'sl', keeper);
});

t.test('host -t: a keeper recorded as consoleKeeper (by a taskio whose keepers held terminals only) is found again', { timeout: 120_000 }, async (t) => {
  const { root, c } = await daemonOf(t);
  const task = await c.createTask({ id: 'old', runtime: 'host', terminal: true, args: ['sh', '-c', lastWords] });
  await eventually(async () => (await logText(c, 'old')).includes('first'), 'the first line in the log', 60_000);
  await killDaemon(root);
  // The record as that taskio wrote it: the same keeper (master at fd 3, stdout FIFO at 4) under its old name.
  const file = path.join(root, 'tasks', 'old', 'task.json');
  const record = JSON.parse(fs.readFileSync(file, 'utf8')) as { outputKeeper?: Kept; consoleKeeper?: Kept };
  const keeper = trackKeeper(t, root, 'old');
  t.ok(keeper && isKeeper(keeper.pid), 'a keeper runs');
  record.consoleKeeper = keeper;
  delete record.outputKeeper;
  fs.writeFileSync(file, JSON.stringify(record));

  t.equal((await c.getTask('old')).status, 'running', 'adopted running');
  process.kill(task.pid, 'SIGUSR1');
  await c.wait('old');
  t.match(await logText(c, 'old'), /last-words/, 'the terminal was taken back from it: the last line is in the log');
  await waitGone(keeper!.pid);
  t.notOk(isKeeper(keeper!.pid), 'the keeper is gone after the exit');
  await c.remove('old');
});

/** Writes filler into FIFO `fifo` until it takes no more (the keeper holds it open: a reader exists). */
function fillFifo(fifo: string): void {
  const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  try {
    for (const chunk of [Buffer.alloc(65536, 'x'), Buffer.from('x')]) {
      for (;;) {
        try {
          fs.writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw err;
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

t.test('host -t, FIFO mode: rm sent as the daemon comes up waits until the pty\'s rest is out of the keeper', { timeout: 120_000 }, async (t) => {
  const { root, c } = await daemonOf(t);
  const { task, stdout, keeper } = await fifoModeTask(t, c, root, 'rr', true);

  await killDaemon(root);
  // A full stdout FIFO: the adopting daemon's console copy can move the pty's rest (the last words)
  // into it only once this test reads, so that read is still under way when the rm arrives.
  fillFifo(stdout);
  process.kill(task.pid, 'SIGUSR1');
  await eventually(() => isGone(task.pid), 'the task to exit');
  const reader = fs.openSync(stdout, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  t.teardown(() => fs.closeSync(reader));

  const log = path.join(root, 'daemon.log');
  let removed = false;
  const removal = c.remove('rr').finally(() => { removed = true; }); // the first request: it starts the daemon
  // Read once the rm waits (the daemon says so), or once it is done (it did not wait: the rest is lost).
  await eventually(() => removed || /"id":"rr".*keeper kept to be read before its delete/.test(fs.readFileSync(log, 'utf8')), 'the rm to wait or end');
  let text = '';
  await eventually(() => {
    text += readAvailable(reader).replace(/x+/g, '');
    return removed;
  }, 'the rm to end');
  await removal;
  text += readAvailable(reader).replace(/x+/g, '');
  t.match(text, /last-words/, 'the last words the task wrote to its terminal while no daemon ran reached its FIFO');
  await waitGone(keeper!.pid);
  t.notOk(isKeeper(keeper!.pid), 'the keeper is gone');
  t.same(taskFds(root, 'rr'), [], 'no fd of the task left in the daemon');
  t.notOk(fs.existsSync(path.join(root, 'tasks', 'rr')), 'removed');
});

t.test('host, FIFO mode: a task whose FIFO cannot be opened again is adopted all the same, and its keeper goes with no fd left', { timeout: 120_000 }, async (t) => {
  const { root, c } = await daemonOf(t);
  const { task, stdout, keeper } = await fifoModeTask(t, c, root, 'nf', false);

  // What the next daemon opens again is no FIFO any more (the keeper still holds the old one).
  await exitWhileNoDaemon(t, c, root, 'nf', task.pid, () => {
    fs.rmSync(stdout);
    fs.writeFileSync(stdout, 'not a fifo');
  }); // ps lists it: adopted
  t.match(fs.readFileSync(path.join(root, 'daemon.log'), 'utf8'), /"id":"nf".*cannot reopen the task's output FIFOs/, 'the daemon log says why its output is not kept');
  await waitGone(keeper!.pid);
  t.notOk(isKeeper(keeper!.pid), 'the keeper is gone');
  // The daemon closes its pidfd of the keeper once its own poll of it saw the exit, which may come
  // after the keeper was reaped (what waitGone sees): waited for, not raced.
  const pidfds = (): string[] => fdsOf(daemonPid(root)).filter((f) => f === 'anon_inode:[pidfd]');
  await eventually(() => pidfds().length === 0, 'the daemon to close its pidfd of the stopped keeper').catch(() => undefined);
  t.same(pidfds(), [], 'no pidfd of the keeper left in the daemon');
  t.same(taskFds(root, 'nf'), [], 'no fd of the task left in the daemon');
  await c.remove('nf');
  t.notOk(fs.existsSync(path.join(root, 'tasks', 'nf')), 'rm removes it');
});

// A task with stdin and no terminal (`-i`) reads it from a pipe the daemon feeds from its stdin
// FIFO. Its input keeper holds that pipe's write end too, as containerd's shim holds a task's stdin:
// a daemon's death is no EOF for the task, and the next daemon feeds the pipe again.
const echoLines = 'echo ready; while read l; do echo "got $l"; done; echo eof';

/** Attaches to task `id` with stdin, types `line`, waits for the task's answer in the log, and detaches. */
async function typeLine(c: DaemonClient, id: string, line: string): Promise<void> {
  const input = new PassThrough();
  const a = await c.attach(id, { stdin: input, detachKeys: '' });
  input.write(`${line}\n`);
  await eventually(async () => (await logText(c, id)).includes(`got ${line}\n`), `the task to read ${line}`, 60_000);
  a.detach();
  await a.done;
}

/** A `-i` task of `runtime` that echoes the lines it reads (the first one typed through this daemon), and its input keeper. */
async function stdinTask(t: Test, c: DaemonClient, root: string, id: string, runtime: RuntimeName): Promise<{ pid: number; keeper: Kept | undefined }> {
  const task = await c.createTask({ id, runtime, stdin: true, args: ['sh', '-c', echoLines] });
  await eventually(async () => (await logText(c, id)).includes('ready'), 'the task to run', 60_000);
  const keeper = trackKeeper(t, root, id, 'inputKeeper');
  t.ok(keeper && isKeeper(keeper.pid), 'the record names a running input keeper');
  await typeLine(c, id, 'one');
  return { pid: task.pid, keeper };
}

for (const runtime of ['host', 'runc'] as const) {
  t.test(`${runtime} -i: the task's stdin outlives a SIGKILLed daemon; the next one feeds it, and close-stdin ends it`, { timeout: 120_000 }, async (t) => {
    const { root, c } = await daemonOf(t);
    const { pid, keeper } = await stdinTask(t, c, root, 'in', runtime);

    await killDaemon(root);
    const v = await c.getTask('in'); // a new daemon adopts it
    t.equal(v.status, 'running', 'adopted running');
    t.equal(v.stdinOpen, true, 'its stdin is open');
    await typeLine(c, 'in', 'two');
    t.notOk(isGone(pid), 'the task runs on');
    t.notMatch(await logText(c, 'in'), /eof/, 'the task read no EOF');

    await c.closeStdin('in');
    await c.wait('in');
    t.match(await logText(c, 'in'), /got one\ngot two\neof\n/, 'EOF only after close-stdin');
    await waitGone(keeper!.pid);
    t.notOk(isKeeper(keeper!.pid), 'the input keeper is gone');
    await eventually(() => taskFds(root, 'in').length === 0, 'the daemon to let go of the task\'s FIFOs');
    await c.remove('in');
    t.notOk(fs.existsSync(path.join(root, 'tasks', 'in')), 'removed');
  });
}

t.test('host -i: rm -f of an adopted task whose stdin was taken back removes its input keeper, no fd left', { timeout: 120_000 }, async (t) => {
  const { root, c } = await daemonOf(t);
  const { keeper } = await stdinTask(t, c, root, 'inrm', 'host');
  await killDaemon(root);
  await typeLine(c, 'inrm', 'two');
  await removeForce(t, c, root, 'inrm', keeper);
});

t.test('host -i: a task that exits while no daemon runs has its input keeper gone by the time the next daemon answers', { timeout: 120_000 }, async (t) => {
  const { root, c } = await daemonOf(t);
  const { pid, keeper } = await stdinTask(t, c, root, 'inex', 'host');
  await killDaemon(root);
  process.kill(pid, 'SIGKILL');
  await eventually(() => isGone(pid), 'the task to exit');
  const v = await c.getTask('inex'); // a new daemon adopts it, and answers once it did
  t.equal(v.status, 'exited', 'adopted exited');
  // Looked at once, not waited for: the adoption stopped it, and a rm -f or prune answering now must not leave it behind.
  t.notOk(isKeeper(keeper!.pid), 'the input keeper is already gone');
});

t.test('host -i: close-stdin on a task this daemon started stops its input keeper, and the task reads EOF', { timeout: 60_000 }, async (t) => {
  const { root, c } = await daemonOf(t);
  const { keeper } = await stdinTask(t, c, root, 'incl', 'host');
  await c.closeStdin('incl');
  await c.wait('incl');
  t.match(await logText(c, 'incl'), /got one\neof\n/, 'EOF after close-stdin');
  await waitGone(keeper!.pid);
  t.notOk(isKeeper(keeper!.pid), 'the input keeper is gone');
  await c.remove('incl');
});
