/**
 * Each fault of the soak once: it ends in its defined state with a typed error or event, and
 * nothing is left (each fault checks its own scratch area; this file checks its process).
 */
import fs from 'node:fs';
import t, { type Test } from 'tap';
import { daemonKilled, logDiskFull, lossBounded, runtimeHang, sandboxKilled, sinkFails, sinkThrows, type FaultResult } from '../../src/soak/faults.js';
import { childPids, fdCount } from '../../src/soak/resources.js';

const opts = { timeout: 90_000 };
const none = { processes: [], fds: [], mounts: [], cgroups: [], state: [], fifoSets: [] };

/** Runs `f` and checks what every fault shares: its defined end, and nothing left. */
async function run(t: Test, f: () => Promise<FaultResult>): Promise<Record<string, unknown>> {
  const fds = fdCount();
  const r = await f();
  t.comment(JSON.stringify(r));
  t.same(r.leftovers, none, 'nothing left');
  t.ok(r.ok, `${r.fault} ended in its defined state`);
  t.equal(fdCount(), fds, 'no fd left in this process');
  return r.outcome;
}

t.test('a fake runtime binary that hangs: create fails with ERR_RUNTIME_TIMEOUT, the Init stays unknown, the runtime is killed', opts, async (t) => {
  const o = await run(t, runtimeHang);
  t.equal(o.code, 'ERR_RUNTIME_TIMEOUT');
  t.match(o.message, /runc create: timed out after 500 ms and was killed/);
  t.equal(o.status, 'unknown');
});

t.test('the runsc sandbox SIGKILLed while a client reads: exit 137, the client gets EOF after a clean prefix, delete works', opts, async (t) => {
  const o = await run(t, () => sandboxKilled(7));
  t.equal(o.exitStatus, 137);
  t.same([o.lost, o.duplicated, o.corrupt], [0, 0, 0]);
  t.equal(o.status, 'deleted');
});

t.test('the log filesystem fills up and frees again: ENOSPC error event, then resume, and the log is whole', opts, async (t) => {
  const o = await run(t, () => logDiskFull(8));
  t.same(o.events, ['error', 'resume']);
  t.equal(o.errorCode, 'ENOSPC');
  t.ok(o.sha256Equal, 'the decoded log is the stream, byte for byte');
});

t.test('the client\'s sink throws: the sink\'s error event, the task runs on, the next client loses only the failed chunk and the rest of its read', opts, async (t) => {
  const o = await run(t, () => sinkThrows(9));
  t.equal(o.taskAfterFailure, 'running');
  // The read the failed chunk came from is cut into slab copies: those after it were taken from the pipe already.
  t.ok(lossBounded(Number(o.lostBytes), Number(o.failedChunkBytes)), `lost ${String(o.lostBytes)} bytes: the failed chunk (${String(o.failedChunkBytes)}) and at most the rest of its read`);
  t.equal(o.duplicated, 0);
});

t.test('the client\'s sink calls back with an error: the same', opts, async (t) => {
  const o = await run(t, () => sinkFails(10));
  t.equal(o.taskAfterFailure, 'running');
  t.ok(lossBounded(Number(o.lostBytes), Number(o.failedChunkBytes)), `lost ${String(o.lostBytes)} bytes: the failed chunk (${String(o.failedChunkBytes)}) and at most the rest of its read`);
  t.equal(o.duplicated, 0);
});

t.test('the daemon SIGKILLed while a client is attached: the attach ends, the task runs on and is adopted, its log repeats nothing', opts, async (t) => {
  const o = await run(t, daemonKilled);
  t.equal(o.taskAliveWithoutDaemon, true);
  t.equal(o.adopted, true);
  t.equal(o.statusAfterRestart, 'running');
  t.equal(o.linesRepeated, 0);
  t.match(o.exit, { exitCode: 137, signal: 'SIGKILL' }, 'the adopted task\'s own status (its exit went to the killed daemon\'s exit recorder)');
});

t.test('no child process is left', async (t) => {
  const left = childPids().map((pid) => `${pid} ${fs.readFileSync(`/proc/${pid}/stat`, 'utf8').slice(0, 60)} ${fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
  t.same(left, []);
});
