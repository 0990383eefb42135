/**
 * The fault soak: each fault of issue 12 once, each checked to end in a defined state with a typed
 * error or event, and nothing left behind.
 *
 * - `runtimeHang`: the runtime binary hangs (a fake `runc` that sleeps — a real one cannot be made
 *   to hang on demand): create fails with `ERR_RUNTIME_TIMEOUT`, the Init stays `unknown`, the
 *   runtime's process group is killed.
 * - `sandboxKilled`: runsc's sandbox is SIGKILLed while a client reads: the Init's exit is 137, the
 *   client gets EOF after a clean prefix of the stream (nothing lost, nothing repeated), delete works.
 * - `logDiskFull`: the log's filesystem (a tmpfs of our own) fills up and frees again: the writer's
 *   `'error'` (ENOSPC) then `'resume'`, the task held back meanwhile, and the log whole.
 * - `sinkThrows` / `sinkFails`: the client's sink throws (or calls back with an error): the sink's
 *   `'error'`, the copy stops, the task runs on, and the next client gets everything but the
 *   chunk the failed sink took and the rest of the read it came from ({@link lossBounded}).
 * - `daemonKilled`: the daemon is SIGKILLed while a client is attached: the attach ends, the task
 *   runs on, the next request's daemon adopts it and its log goes on without a repeated line; its
 *   exit (SIGKILL) is told with its own status, which the killed daemon's exit recorder recorded.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import { isAlive } from '../pidAlive.js';
import path from 'node:path';
import { Writable } from 'node:stream';
import { newAttach, withStreams } from '../attach/index.js';
import { sizeClasses } from '../attach/bufferPool.js';
import { connectDaemon } from '../daemon/index.js';
import { newFIFOSet, newFIFOSetInDir, type FIFOSet } from '../fifo/index.js';
import { openLogWriter } from '../logfile/index.js';
import { parseCriEntry } from '../logfile/criParse.js';
import { Runsc, RuntimeError, defaultTimeouts } from '../runtime/oci/index.js';
import { Init } from '../runtime/proc/index.js';
import { removeInside } from '../removeInside.js';
import { parentPid } from '../runtime/reaper/children.js';
import { entriesOf, fdsMentioning, mountsMentioning, processesMentioning } from './resources.js';
import { builtFile } from '../packageFiles.js';
import { awkCommand, isClean, newScratch, type Leftovers, type Scratch } from './scratch.js';
import { StreamCheck, streamAwkArgs } from './stream.js';

/** What one fault ended in. */
export interface FaultResult {
  soak: 'faults';
  fault: string;
  /** The defined end was reached and nothing is left. */
  ok: boolean;
  /** What was observed: the typed error or event, the state, figures. */
  outcome: Record<string, unknown>;
  leftovers: Leftovers;
  clean: boolean;
  ms: number;
}

/** Runs every fault once, in turn (each in its own scratch area). */
export async function faultSoak(seed = 12): Promise<FaultResult[]> {
  const out: FaultResult[] = [];
  for (const f of [runtimeHang, sandboxKilled, logDiskFull, sinkThrows, sinkFails, daemonKilled]) out.push(await f(seed));
  return out;
}

/** Runs `body` in a fresh scratch area and reports its outcome with what was left. */
async function fault(name: string, backend: Scratch['backend'], body: (s: Scratch) => Promise<{ ok: boolean; outcome: Record<string, unknown>; extra?: () => Partial<Leftovers> }>): Promise<FaultResult> {
  const started = performance.now();
  const s = newScratch(backend, `fault-${name}`);
  let r: Awaited<ReturnType<typeof body>>;
  try {
    r = await body(s);
  } catch (err) {
    r = { ok: false, outcome: { unexpected: String((err as Error).stack ?? err) } };
  }
  const leftovers = { ...s.leftovers(), ...r.extra?.() } as Leftovers;
  s.dispose();
  const clean = isClean(leftovers);
  return { soak: 'faults', fault: name, ok: r.ok && clean, outcome: r.outcome, leftovers, clean, ms: Math.round(performance.now() - started) };
}


/** Resolves once `cond()` holds, looking again on each event-loop turn after a 5 ms timer. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A sink feeding a {@link StreamCheck}; `onBytes` hears the running total. */
function checkSink(check: StreamCheck, onBytes: (n: number) => void = () => undefined): Writable {
  let n = 0;
  return new Writable({
    write(chunk: Buffer, _e, cb) {
      check.feed(chunk);
      onBytes((n += chunk.length));
      cb();
    },
  });
}

/** Ends whatever is left of `init` (a fault's body that failed half-way): kill, wait, delete. */
async function stopInit(init: Init): Promise<void> {
  const st = await init.status();
  if (st === 'running' || st === 'paused') {
    await init.kill('KILL', true).catch(() => undefined);
    await init.wait();
  }
  await init.delete().catch(() => undefined);
}

/** A promise and its resolver. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => { fire = r; });
  return { promise, fire };
}

export function runtimeHang(): Promise<FaultResult> {
  return fault('runtimeHang', 'host', async (s) => {
    const command = path.join(s.base, 'runc');
    const pids = path.join(s.base, 'pids');
    // Records its pid and its sleep's, then hangs: a runtime stuck in a mount or a lock.
    fs.writeFileSync(command, `#!/bin/sh\necho $$ >> '${pids}'\nsleep 1000 &\necho $! >> '${pids}'\nwait\n`, { mode: 0o755 });
    const limit = 500;
    const runtime = new Runsc({
      command, dialect: 'runc', root: path.join(s.base, 'root'), logPath: path.join(s.base, 'runc.log'),
      timeouts: Object.fromEntries(Object.keys(defaultTimeouts).map((k) => [k, limit])),
    });
    const id = s.id('hang');
    const bundle = await s.bundle('hang', ['/bin/true']);
    const set = await newFIFOSetInDir(s.fifoDir, id, false);
    const init = new Init(id, runtime, set.config);
    let error: RuntimeError | null = null;
    try {
      await init.create({ id, bundle, ...set.config });
    } catch (err) {
      error = err as RuntimeError;
    }
    const status = await init.status();
    await set.close();
    const ran = fs.readFileSync(pids, 'utf8').split('\n').filter(Boolean).map(Number);
    await until(() => ran.every((p) => !isAlive(p)), 10_000, 'the hung runtime to be killed');
    return {
      ok: error?.code === 'ERR_RUNTIME_TIMEOUT' && error.timeout === limit && status === 'unknown',
      outcome: { code: error?.code, message: error?.message, status, runtimeProcesses: ran.length },
    };
  });
}

export function sandboxKilled(seed: number): Promise<FaultResult> {
  return fault('sandboxKilled', 'runsc', async (s) => {
    const id = s.id('sandbox');
    const bundle = await s.bundle('stream', awkCommand('runsc', streamAwkArgs(seed)));
    const set = await newFIFOSetInDir(s.fifoDir, id, false);
    const check = new StreamCheck(seed);
    const enough = signal();
    const io = await newAttach(withStreams(null, checkSink(check, (n) => { if (n >= 256 * 1024) enough.fire(); }), null))(newFIFOSet({ ...set.config, stdin: '', stderr: '' }));
    const init = new Init(id, s.runtime, set.config);
    try {
      await init.create({ id, bundle, ...set.config });
      await init.start();
      await enough.promise;
      const sandbox = init.pid();
      process.kill(sandbox, 'SIGKILL');
      await init.wait();
      await io.wait(); // EOF: the task host finished the output once the exit was in
      const r = check.result();
      await init.delete();
      const status = await init.status();
      return {
        ok: init.exitStatus() === 137 && r.lost === 0 && r.duplicated === 0 && r.corrupt === 0 && status === 'deleted',
        outcome: { sandboxPid: sandbox, exitStatus: init.exitStatus(), status, received: r.received, lost: r.lost, duplicated: r.duplicated, corrupt: r.corrupt, unfinishedLineBytes: r.unanchored },
      };
    } finally {
      await stopInit(init);
      await io.close();
      await set.close();
    }
  });
}

export function logDiskFull(seed: number): Promise<FaultResult> {
  return fault('logDiskFull', 'host', async (s) => {
    const mnt = path.join(s.base, 'logfs');
    fs.mkdirSync(mnt, { mode: 0o700 });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0700', `taskio-soak-${crypto.randomBytes(4).toString('hex')}`, mnt]);
    const lines = 3000; // ≈ 130 KiB of output, ≈ 250 KiB of CRI log
    try {
      // All but 32 KiB taken: the log fills it after a few hundred lines.
      const filler = path.join(mnt, 'filler');
      const free = (): number => { const st = fs.statfsSync(mnt); return st.bavail * st.bsize; };
      fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 32 * 1024)));
      const id = s.id('disk');
      const logPath = path.join(mnt, `${id}.log`);
      const writer = openLogWriter(logPath, { format: 'cri' });
      const events: string[] = [];
      let errorCode = '';
      writer.on('error', (err: NodeJS.ErrnoException) => {
        events.push('error');
        errorCode = err.code ?? '';
        fs.rmSync(filler); // frees the space: the writer's retry must find it
      });
      writer.on('resume', () => events.push('resume'));
      const bundle = await s.bundle('disk', awkCommand('host', streamAwkArgs(seed, lines)));
      const set = await newFIFOSetInDir(s.fifoDir, id, false);
      const out = writer.stream('stdout');
      const io = await newAttach(withStreams(null, out, null))(newFIFOSet({ ...set.config, stdin: '', stderr: '' }));
      const init = new Init(id, s.runtime, set.config);
      try {
        await init.create({ id, bundle, ...set.config });
        await init.start();
        await init.wait();
        await io.wait();
        await new Promise<void>((resolve) => out.end(resolve));
        await writer.close();
        await init.delete();
      } finally {
        await stopInit(init);
        await io.close();
        await set.close();
      }
      // The log, decoded, is the stream: nothing lost while the disk was full.
      const content: Buffer[] = [];
      for (const line of fs.readFileSync(logPath).toString('latin1').split('\n')) {
        if (!line) continue;
        const e = parseCriEntry(Buffer.from(line, 'latin1'));
        if (e) content.push(e.content, e.partial ? Buffer.alloc(0) : Buffer.from('\n'));
      }
      const check = new StreamCheck(seed);
      const logged = Buffer.concat(content);
      const expected = check.expected.bytes(0, check.expected.lineStart(lines));
      const same = crypto.createHash('sha256').update(logged).digest('hex') === crypto.createHash('sha256').update(expected).digest('hex');
      return {
        ok: errorCode === 'ENOSPC' && events.join(',') === 'error,resume' && same && init.exitStatus() === 0,
        outcome: { events, errorCode, exitStatus: init.exitStatus(), loggedBytes: logged.length, expectedBytes: expected.length, sha256Equal: same },
        extra: () => ({ mounts: mountsMentioning(mnt) }),
      };
    } finally {
      execFileSync('umount', [mnt]);
      fs.rmdirSync(mnt);
    }
  });
}

/** A client's sink fails after `after` bytes, by throwing or by calling back with an error. */
/**
 * What a failed sink may cost the next client: the failed chunk, and the rest of the read it came
 * from — a sink that may keep chunks gets a read cut into slab-sized copies, and the bytes after
 * the failed one were taken from the pipe already (it cannot take them back). At most one read.
 */
export function lossBounded(lost: number, failedChunk: number): boolean {
  return lost >= failedChunk && lost - failedChunk < sizeClasses[sizeClasses.length - 1]!;
}

function sinkFault(name: string, how: 'throw' | 'callback') {
  return (seed: number): Promise<FaultResult> => fault(name, 'host', async (s) => {
    const id = s.id('sink');
    const bundle = await s.bundle('stream', awkCommand('host', streamAwkArgs(seed)));
    const set = await newFIFOSetInDir(s.fifoDir, id, false);
    const paths = newFIFOSet({ ...set.config, stdin: '', stderr: '' });
    const init = new Init(id, s.runtime, set.config);
    const check = new StreamCheck(seed);
    const boom = new Error(`the sink gives up (${how})`);
    let lostChunk = 0;
    let n = 0;
    const failing = new Writable({
      write(chunk: Buffer, _e, cb) {
        if (n >= 64 * 1024) {
          lostChunk = chunk.length;
          if (how === 'throw') throw boom;
          return cb(boom);
        }
        n += chunk.length;
        check.feed(chunk);
        cb();
      },
    });
    const sinkError = once(failing, 'error') as Promise<[Error]>;
    try {
      const first = await newAttach(withStreams(null, failing, null))(paths);
      await init.create({ id, bundle, ...set.config });
      await init.start();
      const [err] = await sinkError;
      await first.wait(); // the copy stopped at the failure
      first.cancel();
      const runningAfter = await init.status();
      // The next client continues where the failed chunk ended.
      const enough = signal();
      check.startSession();
      const sink = checkSink(check, (m) => { if (m >= 64 * 1024) enough.fire(); });
      const second = await newAttach(withStreams(null, sink, null))(paths);
      await enough.promise;
      second.cancel();
      await second.wait();
      const r = check.result();
      await init.kill('KILL');
      await init.wait();
      await init.delete();
      return {
        ok: err === boom && runningAfter === 'running' && r.duplicated === 0 && lossBounded(r.lost, lostChunk) && r.corrupt === 0,
        outcome: { sinkError: err.message, taskAfterFailure: runningAfter, lostBytes: r.lost, failedChunkBytes: lostChunk, duplicated: r.duplicated, received: r.received },
      };
    } finally {
      await stopInit(init);
      await set.close();
    }
  });
}

export const sinkThrows = sinkFault('sinkThrows', 'throw');
export const sinkFails = sinkFault('sinkFails', 'callback');

/** The daemon is started from the built CLI. */
const cliMain = builtFile('cli/main.js');

export function daemonKilled(): Promise<FaultResult> {
  return fault('daemonKilled', 'host', async (s) => {
    const root = path.join(s.base, 'daemon');
    fs.mkdirSync(root, { mode: 0o700 });
    const c = await connectDaemon(root, { daemonCommand: [process.execPath, cliMain, 'daemon'] });
    const daemons: number[] = [];
    // The exit recorder above each daemon (`taskio daemon` is it; its child the daemon): a child of this
    // process, gone once its daemon and the tasks it was left are.
    const recorders: number[] = [];
    const started = async (): Promise<void> => {
      const pid = (await c.version()).pid;
      daemons.push(pid);
      recorders.push(parentPid(pid) ?? 0);
    };
    let taskPid = 0;
    let left: Partial<Leftovers> = {};
    let stage = 'before the kill';
    try {
      await started();
      const id = s.id('count');
      const task = await c.createTask({ id, runtime: 'host', args: ['/bin/sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.002; done'] });
      taskPid = task.pid;
      let seen = '';
      const enough = signal();
      const attachment = await c.attach(id, { stdout: new Writable({ write(ch: Buffer, _e, cb) { seen += ch; if (seen.split('\n').length > 50) enough.fire(); cb(); } }) });
      await enough.promise;
      process.kill(daemons[0]!, 'SIGKILL');
      const attachEnd = await attachment.done;
      // Until the killed daemon is gone its socket may still take a connection that then breaks
      // (EPIPE): the client restarts a daemon only on a refused connection.
      await until(() => !isAlive(daemons[0]!), 20_000, 'the killed daemon to be gone');
      const taskAliveWithoutDaemon = isAlive(taskPid);
      // The next request starts a daemon, which adopts the task.
      stage = 'getTask after kill';
      // The first request after the kill: recorded when it fails (a defect of the client seen
      // here: ECONNRESET/EPIPE instead of a restart), then sent once more, as a supervisor would.
      let firstRequestError: string | null = null;
      const view = await c.getTask(id).catch((err: NodeJS.ErrnoException) => {
        firstRequestError = `${err.code ?? ''} ${err.message}`;
        return c.getTask(id);
      });
      stage = 'the log after the restart';
      await started();
      // Its log goes on: wait for 50 more lines, then stop the task.
      const numbers = async (): Promise<number[]> => {
        let text = '';
        await c.logs(id, { stdout: new Writable({ write(ch: Buffer, _e, cb) { text += ch; cb(); } }) });
        return text.split('\n').filter(Boolean).map(Number);
      };
      const before = (await numbers()).length;
      for (let got = before; got < before + 50; got = (await numbers()).length) await new Promise((r) => setTimeout(r, 5));
      await c.kill(id, 'KILL', { all: true });
      const exit = await c.wait(id);
      const nums = await numbers();
      let repeated = 0, missing = 0;
      for (let i = 1; i < nums.length; i++) {
        if (nums[i]! <= nums[i - 1]!) repeated++;
        missing += Math.max(0, nums[i]! - nums[i - 1]! - 1);
      }
      await c.remove(id);
      return {
        // The adopted task's own status: its exit went to the killed daemon's recorder, which recorded it.
        ok: attachEnd === 'exited' && taskAliveWithoutDaemon && view.adopted && view.status === 'running' && nums[0] === 1 && repeated === 0 && daemons[1] !== daemons[0]
          && exit.exitCode === 137 && exit.signal === 'SIGKILL',
        outcome: {
          attachEnd, taskAliveWithoutDaemon, firstRequestError, adopted: view.adopted, statusAfterRestart: view.status,
          exit, linesLogged: nums.length, linesRepeated: repeated, linesMissing: missing, daemons,
        },
        extra: () => left,
      };
    } catch (err) {
      throw new Error(`daemonKilled at ${stage}: ${(err as Error).message}`, { cause: err });
    } finally {
      c.close();
      // The daemon has no stop verb: a task-less daemon is ended by signal, as a supervisor would.
      for (const pid of daemons) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
      // Gone from /proc, not just dead: reaped by whoever is their parent (their recorders; this
      // process's libuv reaps the recorders, which go once nothing of their daemon is left).
      await until(() => [...daemons, ...recorders].every((p) => !fs.existsSync(`/proc/${p}`)), 20_000, 'the daemons and their recorders to be reaped');
      left = { processes: [...processesMentioning(root), ...(isAlive(taskPid) ? [taskPid] : [])], fds: fdsMentioning(root), state: entriesOf(path.join(root, 'tasks')) };
      if (taskPid && isAlive(taskPid)) process.kill(taskPid, 'SIGKILL');
      removeInside(s.base, root);
    }
  });
}
