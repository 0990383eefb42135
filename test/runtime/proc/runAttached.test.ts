/**
 * Init.runAttached on real runc and runsc: `run` without `--detach` stays beside the container,
 * and its exit is the container's end — status, output and removal — with nothing left for a delete.
 */
import fs from 'node:fs';
import t, { type Test } from 'tap';
import { newCreator, withFIFODir, withStreams, type IO } from '../../../src/attach/index.js';
import { processesByArgv } from '../../../src/procArgv.js';
import type { Dialect } from '../../../src/runtime/oci/index.js';
import { Init } from '../../../src/runtime/proc/index.js';
import { Collector } from '../../helpers/common.js';
import { leftoversUnder, processesMentioning, scratch, stateEntries, waitFor } from '../../fixtures/oci.js';

for (const dialect of ['runc', 'runsc'] as Dialect[]) {
  const s = scratch(dialect);
  const fifoDir = `${s.base}/fifo`;
  fs.mkdirSync(fifoDir);
  t.teardown(() => {
    const left = leftoversUnder(s.base, s.root);
    fs.rmSync(s.base, { recursive: true, force: true });
    if (Object.values(left).some((v) => v.length > 0)) throw new Error(`left behind: ${JSON.stringify(left)}`);
  });

  const opts = { timeout: 60_000 };

  /** A task with a stdout/stderr client, its Init cleaned up with the test whatever happened. */
  async function task(t: Test, name: string, args: string[]): Promise<{ id: string; init: Init; io: IO; out: Collector; err: Collector; bundle: string }> {
    const id = s.id(name);
    const out = new Collector();
    const err = new Collector();
    const io = await newCreator(withFIFODir(fifoDir), withStreams(undefined, out, err))(id);
    const init = new Init(id, s.runtime, io.config(), { drainTimeout: 1000 });
    t.teardown(async () => {
      await init.killAll();
      if ((await init.status()) === 'running') await Promise.race([init.wait(), new Promise((r) => setTimeout(r, 3000))]);
      if (!['deleted', 'unknown'].includes(await init.status())) await init.delete().catch(() => undefined);
      await s.runtime.delete(id, { force: true }).catch(() => undefined);
      await io.close();
    });
    return { id, init, io, out, err, bundle: await s.bundle(name, { args }) };
  }

  const config = (id: string, bundle: string, io: IO) => ({ id, bundle, ...io.config() });

  /** The pids of attached `run` processes of this runtime root. */
  const attachedRuns = (): number[] => processesByArgv((a) => a.includes(s.root) && a.includes('run') && !a.includes('--detach'));

  t.test(`${dialect}: the exit status and every byte of output; the runtime removed the container itself`, opts, async (t) => {
    const { id, init, io, out, err, bundle } = await task(t, 'out', ['sh', '-c', 'echo hi; echo oops >&2; exit 7']);
    await init.runAttached(config(id, bundle, io));
    t.ok(init.pid() > 0, 'the pid the runtime wrote');
    await init.wait();
    t.equal(init.exitStatus(), 7);
    t.same(stateEntries(s.root), [], 'no runtime state left once it exited: the runtime deleted the container');
    await init.delete();
    t.equal(await init.status(), 'deleted');
    await io.wait();
    t.equal(out.text(), 'hi\n');
    t.equal(err.text(), 'oops\n');
  });

  t.test(`${dialect}: running: the runtime process stays beside the container; a kill ends both (137)`, opts, async (t) => {
    const { id, init, io, bundle } = await task(t, 'kill', ['sleep', '1000']);
    await init.runAttached(config(id, bundle, io));
    t.equal(await init.status(), 'running');
    t.equal(attachedRuns().length, 1, 'the attached run is alive');
    t.ok(stateEntries(s.root).some((e) => e.includes(id)), 'the runtime knows the container while it runs');
    await t.rejects(init.runAttached(config(id, bundle, io)), { code: 'ERR_INVALID_STATE', message: 'cannot run a running container' });
    await init.kill('KILL');
    await init.wait();
    t.equal(init.exitStatus(), 137);
    await init.delete();
    await waitFor('the attached run to end', () => attachedRuns().length === 0);
    t.same(stateEntries(s.root), []);
  });

  t.test(`${dialect}: the runtime SIGKILLed first: the container stays for delete, its init's exit comes from the reaper`, opts, async (t) => {
    const { id, init, io, bundle } = await task(t, 'orphan', ['sleep', '1000']);
    await init.runAttached(config(id, bundle, io));
    const [runtime] = attachedRuns();
    t.ok(runtime, 'the attached run');
    process.kill(runtime!, 'SIGKILL');
    await waitFor('it to be gone', () => !attachedRuns().includes(runtime!));
    if (dialect === 'runc') {
      t.equal(await init.status(), 'running', 'runc: the container runs on without its runtime');
      await init.kill('KILL');
    } // runsc: the sandbox dies with its runtime (its parent-death signal)
    await init.wait();
    t.equal(init.exitStatus(), 137, 'the status came from the reaper');
    t.ok(stateEntries(s.root).some((e) => e.includes(id)), 'the runtime did not remove it: the state stays for delete');
    await init.delete();
    t.same(stateEntries(s.root), [], 'delete ran the runtime delete');
  });

  // runc only: runsc's sandbox is dead before its runtime's death is handled (see above).
  if (dialect === 'runc') t.test(`${dialect}: the runtime SIGKILLed, its init killed just as the Init first looks at it: the reaper's 137, not an unknown 255`, opts, async (t) => {
    const { id, init, io, bundle } = await task(t, 'orphanrace', ['sleep', '1000']);
    await init.runAttached(config(id, bundle, io));
    const [runtime] = attachedRuns();
    t.ok(runtime, 'the attached run');
    const seen = killAtFirstLivenessRead(t, init.pid());
    process.kill(runtime!, 'SIGKILL');
    await init.wait();
    t.ok(seen(), 'the init was killed right after the Init saw it alive');
    t.equal(init.exitStatus(), 137, 'the status came from the reaper');
    await init.delete();
    t.same(stateEntries(s.root), [], 'delete ran the runtime delete');
  });

  t.test(`${dialect}: a command that cannot start: the runtime error, state new, nothing left`, opts, async (t) => {
    const { id, init, io, bundle } = await task(t, 'missing', ['no-such-command']);
    await t.rejects(init.runAttached(config(id, bundle, io)), { code: 'ERR_RUNTIME', message: /no-such-command/ });
    t.equal(await init.status(), 'unknown');
    t.same(stateEntries(s.root), []);
    t.same(processesMentioning(s.root), []);
  });

  t.test(`${dialect}: a terminal is refused before anything runs`, opts, async (t) => {
    const id = s.id('tty');
    const init = new Init(id, s.runtime, { stdin: '', stdout: '', stderr: '', terminal: true });
    const bundle = await s.bundle('tty', { args: ['true'], terminal: true });
    await t.rejects(init.runAttached({ id, bundle, terminal: true, stdin: '', stdout: '', stderr: '' }), { code: 'ERR_INVALID_ARG_VALUE', message: /terminal/ });
    t.equal(await init.status(), 'unknown');
    t.same(stateEntries(s.root), []);
  });
}

/**
 * Orders a death against a liveness check with the real process: the first time taskio's
 * `isAlive` reads `pid`'s `/proc/<pid>/stat`, it gets what it read (alive), and `pid` is then
 * SIGKILLed and waited for as a zombie before the read returns — so any later look sees it dead,
 * as when a `kill` lands between two looks. Returns whether that happened; undone at teardown.
 */
function killAtFirstLivenessRead(t: Test, pid: number): () => boolean {
  const readFileSync = fs.readFileSync;
  const statPath = `/proc/${pid}/stat`;
  const state = (): string => {
    const stat = readFileSync(statPath, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  };
  let done = false;
  fs.readFileSync = function (this: unknown, ...args: Parameters<typeof fs.readFileSync>) {
    const result = readFileSync.apply(this, args);
    if (!done && args[0] === statPath && new Error().stack?.includes('isAlive')) {
      done = true;
      process.kill(pid, 'SIGKILL');
      // Synchronous on purpose: nothing else of this process runs before the read returns.
      const deadline = Date.now() + 10_000;
      while (state() !== 'Z') if (Date.now() > deadline) throw new Error(`pid ${pid} did not die`);
    }
    return result;
  } as typeof fs.readFileSync;
  t.teardown(() => { fs.readFileSync = readFileSync; });
  return () => done;
}
