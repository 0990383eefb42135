import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { DaemonClient } from '../../src/daemon/index.js';
import { endedExecsKept } from '../../src/daemon/execRecords.js';
import { exitOf } from '../helpers/common.js';
import { spawnTaskio } from '../cli/taskioCommand.js';
import { daemonWithBox, execClient, nextEvent } from './execBox.js';
import { daemonPid, eventually, foregroundDaemon, waitGone } from './helpers.js';

// The records of a task's execs (inspect's `execs`, GET /tasks/:id/exec/:exec) and their pid files
// (<taskdir>/execs/): kept after an exec ended while the task runs, bounded, and gone with its exit —
// also those whose client never deleted them (`exec -d`, a SIGKILLed client).

const execDir = (root: string, id: string): string => path.join(root, 'tasks', id, 'execs');
const pidFiles = (root: string, id: string): string[] => (fs.existsSync(execDir(root, id)) ? fs.readdirSync(execDir(root, id)) : []).sort();
const hasPidFile = (root: string, execId: string): boolean => pidFiles(root, 'box').includes(`${execId}.pid`);

/** Runs `taskio exec -d TASK ARGS…` and resolves with the exec-exit event of the exec it started. */
async function detachedExec(t: Test, root: string, c: DaemonClient, id: string, args: string[]): Promise<{ execId: string; exitCode: number | null }> {
  const exited = await nextEvent(t, c, id, (e) => e.type === 'exec-exit');
  const d = await spawnTaskio(root, ['exec', '-d', id, ...args]).result;
  t.equal(d.code, 0, 'exec -d');
  const e = await exited.seen;
  return { execId: e.execId!, exitCode: e.exitCode ?? null };
}

t.test('ended execs stay inspectable while the task runs, whatever their client did; the task\'s exit takes them and their pid files', { timeout: 120_000 }, async (t) => {
  const { root, c } = await daemonWithBox(t);
  // `exec -d` never deletes its exec.
  const detached = await detachedExec(t, root, c, 'box', ['sh', '-c', 'exit 3']);
  t.equal(detached.exitCode, 3);
  // A client killed while its exec runs never deletes it either; the exec ends on EPIPE.
  const killedExit = await nextEvent(t, c, 'box', (e) => e.type === 'exec-exit');
  const client = await execClient(t, root, ['sh', '-c', 'while :; do echo x; done']);
  const gone = exitOf(client);
  client.kill('SIGKILL');
  await gone;
  const killed = (await killedExit.seen).execId!;
  // One whose client waited deletes it itself, as before.
  t.equal((await spawnTaskio(root, ['exec', 'box', 'true']).result).code, 0);

  t.same((await c.getTask('box')).execs.sort(), [detached.execId, killed].sort(), 'both ended execs are listed');
  const d = await c.getExec('box', detached.execId);
  t.same([d.running, d.exit?.exitCode], [false, 3], 'the detached one: ended, its code');
  const k = await c.getExec('box', killed);
  t.same([k.running, k.exit === null], [false, false], 'the one of the killed client: ended, with its exit');
  t.ok(hasPidFile(root, detached.execId) && hasPidFile(root, killed), 'their pid files are there');

  await c.kill('box', 'KILL');
  t.equal((await c.wait('box')).exitCode, 137);
  const view = await c.getTask('box');
  t.same([view.status, view.execs], ['exited', []], 'the exited task lists no exec');
  await t.rejects(c.getExec('box', detached.execId), { code: 'ERR_NOT_FOUND' }, 'nor shows one');
  await t.rejects(c.getExec('box', killed), { code: 'ERR_NOT_FOUND' });
  await eventually(() => pidFiles(root, 'box').length === 0, 'no pid file left in the task\'s execs/');
});

t.test('a client waiting on its exec across the task\'s stop gets its exit code; then its record goes', { timeout: 120_000 }, async (t) => {
  const { root, c } = await daemonWithBox(t);
  const client = await execClient(t, root, ['sh', '-c', 'echo x; exec sleep 300']);
  const [execId] = (await c.getTask('box')).execs;
  // Beside it, one nobody waits for, running too when the task stops.
  t.equal((await spawnTaskio(root, ['exec', '-d', 'box', 'sleep', '300']).result).code, 0);
  const [, detached] = (await c.getTask('box')).execs;
  t.ok(execId && detached, 'two running execs');
  const exited = await nextEvent(t, c, 'box', (e) => e.type === 'exec-exit' && e.execId === execId);
  await c.stop('box', { timeout: 10 });
  const r = await client.result;
  // The task's end kills what it still runs: the exec's sleep dies by SIGKILL.
  t.same([r.code, r.stdout, r.stderr], [137, 'x\n', ''], 'the client exits with the exec\'s code, no error');
  t.equal((await exited.seen).exitCode, 137, 'the code in the exec-exit event');
  await eventually(async () => (await c.getTask('box')).execs.length === 0, 'both records gone once their execs ended');
  await eventually(() => pidFiles(root, 'box').length === 0, 'their pid files too');
});

t.test('an exec that ended before its client asked for its exit, the task exiting between, still gives that client its code; then its record goes', { timeout: 120_000 }, async (t) => {
  const { root, c } = await daemonWithBox(t);
  const out = new PassThrough();
  let text = '';
  out.setEncoding('utf8').on('data', (d: string) => { text += d; });
  const exited = await nextEvent(t, c, 'box', (e) => e.type === 'exec-exit');
  // As `taskio exec`: its client reads the output, and asks for the exit in a request of its own.
  const h = await c.exec('box', { args: ['sh', '-c', 'echo x; exit 5'], stdout: out });
  t.equal((await exited.seen).exitCode, 5, 'the exec ended');
  // The task's run ends before that request comes (a CI step whose exec made the job end).
  await c.kill('box', 'KILL');
  t.equal((await c.wait('box')).exitCode, 137);
  t.same((await h.wait()).exitCode, 5, 'the client gets the exec\'s code, not "no exec"');
  t.equal(text, 'x\n', 'and its output');
  await eventually(async () => (await c.getTask('box')).execs.length === 0, 'the record goes after that wait');
  await eventually(() => pidFiles(root, 'box').length === 0, 'its pid file too');
  t.same(fs.readdirSync(path.join(root, 'fifo')), [], 'the client\'s FIFO set is removed');
});

t.test(`a running task keeps its last ${endedExecsKept} ended execs, not more: the oldest go with their pid files`, { timeout: 180_000 }, async (t) => {
  const { root, c } = await daemonWithBox(t);
  const ids: string[] = [];
  // Through the API without a FIFO set (as `exec -d`), never waited for nor deleted.
  for (let i = 0; i < endedExecsKept + 2; i++) {
    const exited = await nextEvent(t, c, 'box', (e) => e.type === 'exec-exit');
    const h = await c.exec('box', { args: ['true'] });
    t.equal((await exited.seen).execId, h.id);
    ids.push(h.id);
  }
  const kept = ids.slice(2);
  t.same((await c.getTask('box')).execs, kept, `the last ${endedExecsKept} are listed, in start order`);
  for (const old of ids.slice(0, 2)) await t.rejects(c.getExec('box', old), { code: 'ERR_NOT_FOUND' }, `${old}: gone`);
  t.same((await c.getExec('box', kept[0]!)).exit?.exitCode, 0, 'the oldest kept one is inspectable');
  await eventually(() => !hasPidFile(root, ids[0]!) && !hasPidFile(root, ids[1]!), 'the pid files of the two oldest gone');
  t.ok(kept.every((id) => hasPidFile(root, id)), 'those of the kept ones there');
  // A running exec is never dropped, however many end after it started.
  const running = await c.exec('box', { args: ['sleep', '300'] });
  for (let i = 0; i < 2; i++) {
    const exited = await nextEvent(t, c, 'box', (e) => e.type === 'exec-exit');
    await c.exec('box', { args: ['true'] });
    await exited.seen;
  }
  t.same((await c.getExec('box', running.id)).running, true, 'a running exec stays');
  t.equal((await c.getTask('box')).execs.length, endedExecsKept + 1, `${endedExecsKept} ended ones and the running one`);
});

t.test('an adopting daemon removes the pid files of the execs of the one before, for a task found exited or running', { timeout: 120_000 }, async (t) => {
  const { root, c } = await daemonWithBox(t);
  const other = await c.createTask({ id: 'other', runtime: 'host', args: ['sleep', '300'] });
  await detachedExec(t, root, c, 'other', ['true']);
  await detachedExec(t, root, c, 'box', ['true']);
  t.equal(pidFiles(root, 'box').length, 1, 'box: the pid file of its ended exec');
  t.equal(pidFiles(root, 'other').length, 1, 'other: the same');
  // The daemon, not its exit recorder (the process started).
  const firstDaemon = daemonPid(root);
  process.kill(firstDaemon, 'SIGKILL');
  await waitGone(firstDaemon);
  // `other` exits while no daemon runs.
  process.kill(other.pid, 'SIGKILL');
  await waitGone(other.pid);
  await foregroundDaemon(root);
  t.equal((await c.getTask('other')).status, 'exited', 'other was found exited');
  t.equal((await c.getTask('box')).status, 'running', 'box runs on');
  t.same(pidFiles(root, 'other'), [], 'other: no pid file left');
  t.same(pidFiles(root, 'box'), [], 'box: no pid file left (the earlier daemon\'s execs are no records of this one)');
});
