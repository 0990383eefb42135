import t from 'tap';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { knowsSweepingFlag, sweepingChosen } from '../../src/sys/index.js';
import { repoRoot } from '../helpers/common.js';

t.setTimeout(60_000);

const dist = path.join(repoRoot, 'dist');
/** This environment without a NODE_OPTIONS of its own (a coverage or loader hook has no place in the children). */
const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));

/**
 * In the child: 20 rounds of 200 unreachable 64 KiB buffers, each round followed by a scavenge;
 * counts the rounds where all of their memory was freed when the scavenge returned (however many
 * scavenges ran meanwhile: the count is back where the round began). Swept
 * inline that is every round; swept on a worker thread it is whichever rounds the worker won the
 * race (4–16 of 20, fewer under load), so 20 of 20 does not happen by chance.
 * Each round starts with a full collection. Without it the rounds' 250 MB of buffers start V8's
 * incremental marking (every 64 MB of external memory), and a buffer made while marking runs has
 * its memory marked live by a barrier; a round that overlapped marking is the likely reason one CI
 * run counted 19 of 20 (not reproduced in 40 runs under load). 12.5 MB a round does not start
 * marking again.
 */
const sweptAtOnce = `
function sweptAtOnce() {
  let rounds = 0;
  for (let round = 0; round < 20; round++) {
    gc();
    const before = process.memoryUsage().arrayBuffers;
    (() => { for (let i = 0; i < 200; i++) Buffer.allocUnsafeSlow(64 << 10); })();
    gc({ type: 'minor' });
    if (process.memoryUsage().arrayBuffers - before < 1 << 20) rounds++;
  }
  return rounds;
}`;

/** Runs `body` (an async function body that may call `sweptAtOnce()`) in a fresh Node with `flags`; returns its JSON. */
function inChild<T>(body: string, flags: string[] = []): T {
  const script = `${sweptAtOnce}\n(async () => { ${body} })().then((r) => console.log(JSON.stringify(r)));`;
  const out = execFileSync(process.execPath, ['--expose-gc', ...flags, '--input-type=module', '-e', script], { env: clean, encoding: 'utf8', cwd: repoRoot });
  return JSON.parse(out) as T;
}

t.test('sweepingChosen sees the flag, its negation and --single-threaded-gc among Node\'s options', async (t) => {
  t.ok(sweepingChosen(['--concurrent-array-buffer-sweeping']));
  t.ok(sweepingChosen(['--max-old-space-size=100', '--no-concurrent_array_buffer_sweeping']));
  t.ok(sweepingChosen(['--single-threaded-gc']));
  t.ok(sweepingChosen(['--no-single_threaded_gc']));
  t.notOk(sweepingChosen(['--expose-gc', '--max-semi-space-size=16']));
  t.notOk(sweepingChosen([]));
});

t.test('knowsSweepingFlag: only V8 11 to 13 (Node 20 to 24) are known to have the flag', async (t) => {
  t.ok(knowsSweepingFlag('11.3.244.8-node.38'));
  t.ok(knowsSweepingFlag('12.4.254.21-node.33'));
  t.ok(knowsSweepingFlag('13.6.233.10-node.18'));
  t.notOk(knowsSweepingFlag('10.2.154.26-node.26'));
  t.notOk(knowsSweepingFlag('14.1.146.11-node.14'));
  t.notOk(knowsSweepingFlag('not a version'));
  t.ok(knowsSweepingFlag(process.versions.v8), 'the Node running this test is one of them');
});

t.test('sweepArrayBuffersInline: once per process, and dead buffers are freed within the scavenge', async (t) => {
  const r = inChild<{ calls: boolean[]; rounds: number }>(`
    const m = await import(${JSON.stringify(path.join(dist, 'sys/index.js'))});
    return { calls: [m.sweepArrayBuffersInline(), m.sweepArrayBuffersInline()], rounds: sweptAtOnce() };
  `);
  t.same(r.calls, [true, false]);
  // 18: a round may still overlap a marking V8 started on its own; a worker's sweep wins at most 16.
  t.ok(r.rounds >= 18, `the scavenges freed their dead buffers before they returned (${r.rounds} of 20 rounds)`);
});

t.test('sweepArrayBuffersInline leaves a process started with its own choice alone', async (t) => {
  for (const flag of ['--concurrent-array-buffer-sweeping', '--single-threaded-gc']) {
    const calls = inChild<boolean[]>(`
      const m = await import(${JSON.stringify(path.join(dist, 'sys/index.js'))});
      return [m.sweepArrayBuffersInline(), m.sweepArrayBuffersInline()];
    `, [flag]);
    t.same(calls, [false, false], flag);
  }
});

t.test('the copy engine sets it for a sink that may keep chunks, not for a lent one', async (t) => {
  const attach = (sink: string): string => `
    const { Writable } = await import('node:stream');
    const os = await import('node:os'), fs = await import('node:fs'), path = await import('node:path');
    const taskio = await import(${JSON.stringify(path.join(dist, 'index.js'))});
    const sys = await import(${JSON.stringify(path.join(dist, 'sys/index.js'))});
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-sweep-'));
    const counter = new Writable({ write(_c, _e, cb) { cb(); } });
    const io = await taskio.newCreator(taskio.withStreams(null, ${sink}, null), taskio.withFIFODir(dir))('sweep');
    const rounds = sweptAtOnce();
    const again = sys.sweepArrayBuffersInline();
    await io.close();
    fs.rmSync(dir, { recursive: true });
    return { rounds, again };
  `;
  const copied = inChild<{ rounds: number; again: boolean }>(attach('counter'));
  t.ok(copied.rounds >= 18, `a plain Writable: set when its copy was made (${copied.rounds} of 20 rounds swept at once)`);
  t.equal(copied.again, false, 'a plain Writable: already set');
  const lent = inChild<{ rounds: number; again: boolean }>(attach('taskio.nonRetaining(counter)'));
  t.equal(lent.again, true, 'a nonRetaining sink: left for a later copy to set');
});
