import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { daemonRoot, eventually } from '../daemon/helpers.js';
import { processesWith, taskio } from './runSession.js';
import { startTaskio, type TaskioChild, type TaskioResult } from './taskioCommand.js';
import { spawnEveryLine } from './inProcess.js';

// This file tests the command's own process: every line spawns it.
spawnEveryLine();

/**
 * `taskio exec … | head`, `taskio run … | head`: the built command with its stdout a real pipe whose
 * reader closes after the first line (as `head -1` does), as docker's CLI dies of SIGPIPE there.
 */

/** Waits for the first line on the command's stdout, then closes this end of the pipe; resolves with how it ended. */
function closeAfterFirstLine(child: TaskioChild): Promise<TaskioResult> {
  child.stdout!.on('data', () => { if (child.output().includes('\n')) child.stdout!.destroy(); });
  return child.result;
}

/** The exec FIFO sets under the root (`<root>/fifo`). */
function fifoSets(root: string): string[] {
  const dir = path.join(root, 'fifo');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

// A count nothing else on the machine runs with: its processes are found by it in /proc.
let marker = 987_654_000 + (process.pid % 1000);
const nextMarker = (): string => String(++marker);
/** Whether `seq 1 COUNT` still runs. */
const seqRunning = (count: string): boolean => processesWith(['seq', '1', count].join('\0')).length > 0;

for (const [runtime, terminal] of [['host', false], ['host', true], ['runc', false]] as const) {
  t.test(`${runtime}: exec${terminal ? ' -t' : ''} into a pipe closed after the first line: exit 141, quiet, the process gone, no FIFO set left`, { timeout: 120_000 }, async (t) => {
    const root = daemonRoot(t);
    t.equal((await taskio(root, ['run', '-d', '--name', 'box', '--runtime', runtime, '--', 'sleep', '1000'])).status, 0);
    const count = nextMarker();
    const end = await closeAfterFirstLine(startTaskio(t, root, ['exec', ...(terminal ? ['-t'] : []), 'box', 'seq', '1', count]));
    t.same([end.code, end.signal, end.stderr], [141, null, ''], 'exits 141 (a SIGPIPE death as the shell shows it), nothing on stderr');
    t.match(end.stdout, /^1\r?\n/);
    t.same(fifoSets(root), [], 'the exec\'s FIFO set was removed');
    // Not kept open: the process's output FIFO lost its only reader, so it ends at its next write
    // (SIGPIPE; with a terminal, the console copy's EPIPE hangs it up).
    await eventually(() => !seqRunning(count), 'the exec\'d process ended', 10_000);
    t.equal((await taskio(root, ['rm', '-f', 'box'])).status, 0);
  });
}

t.test('host: an exec whose client is SIGKILLed mid-output ends at its next write instead of blocking for ever', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  t.equal((await taskio(root, ['run', '-d', '--name', 'box', '--runtime', 'host', '--', 'sleep', '1000'])).status, 0);
  const count = nextMarker();
  const child = startTaskio(t, root, ['exec', 'box', 'seq', '1', count]);
  child.stdout!.once('data', () => child.kill('SIGKILL'));
  const end = await child.result;
  t.equal(end.signal, 'SIGKILL');
  await eventually(() => !seqRunning(count), 'the exec\'d process ended', 10_000);
  t.equal((await taskio(root, ['rm', '-f', 'box'])).status, 0);
});

t.test('host: run --rm into a pipe closed after the first line: exit 141, quiet; the task runs on, is removed once it exits; logs | head the same', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  // More output than a pipe holds, then it waits: the task outlives the command.
  const end = await closeAfterFirstLine(startTaskio(t, root, ['run', '--rm', '--name', 'r', '--runtime', 'host', '--', 'sh', '-c', 'seq 1 200000; exec sleep 1000']));
  t.same([end.code, end.signal, end.stderr], [141, null, ''], 'exits 141, nothing on stderr');
  t.match(end.stdout, /^1\n/);
  const ps = await taskio(root, ['ps', '--format', '{{.Names}} {{.Status}}']);
  t.match(ps.stdout, /^r Up /m, 'the task runs on (its output goes to its log)');
  const logs = await closeAfterFirstLine(startTaskio(t, root, ['logs', 'r']));
  t.same([logs.code, logs.stderr], [141, ''], 'logs into a closed pipe: the same 141');
  t.same(fifoSets(root), []);
  t.equal((await taskio(root, ['kill', 'r'])).status, 0);
  await eventually(async () => !(await taskio(root, ['ps', '-a', '-q'])).stdout.trim(), 'the --rm task was removed once it exited');
});
