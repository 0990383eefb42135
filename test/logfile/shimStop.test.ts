import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, tmpDir } from '../helpers/common.js';
import { runLikeShim, seededRandom } from './fixtures/shimHarness.js';

// The logger a containerd user points `binary://` at: the launcher `npm run build` writes (npm
// test builds first).
const logger = path.join(repoRoot, 'dist/logfile/cri-logger');
const runs = Number(process.env.TASKIO_SHIM_RUNS ?? 20);
// 300,000 lines take the logger 0.2 s and more to drain (1.4 M lines/s on a quiet machine), so
// every SIGTERM, 0-100 ms after the close, lands while it drains.
const lines = Number(process.env.TASKIO_SHIM_LINES ?? 300_000);
const seed = Number(process.env.TASKIO_TEST_SEED ?? 0x5eed11);
const criTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;
const timeLen = 30; // 2006-01-02T15:04:05.000000000Z
const stdoutName = Buffer.from('stdout'), stderrName = Buffer.from('stderr');

/**
 * Checks a CRI log holding `seq 1 n` on stdout and `err` on stderr: every line once, in order,
 * whole (F, or P entries joined with the F that ends them: the writer logs a line that stayed
 * unfinished while the pipe was quiet as P, which a task held off the CPU between two writes of
 * its stdio buffer can bring about). Returns a description of the first difference, or null. Reads the bytes in place (a
 * regex and a string per entry cost more than the logger itself at a million entries).
 */
function checkLog(file: string, n: number): string | null {
  const data = fs.readFileSync(file);
  let want = 1, errs = 0, lastTime = '';
  // A stdout line begun in P entries: its value and digits so far.
  let held = 0, heldDigits = 0;
  for (let pos = 0; pos < data.length;) {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) return `entry without newline at byte ${pos}`;
    const show = (): string => JSON.stringify(data.subarray(pos, nl).toString('latin1'));
    // `<time> <stream> <tag> <content>`: stdout and stderr are both 6 letters.
    const c = pos + timeLen + 10;
    if (c > nl + 1 || data[pos + timeLen] !== 0x20 || data[c - 3] !== 0x20 || data[c - 1] !== 0x20) return `not a CRI entry: ${show()}`;
    const at = pos + timeLen + 1;
    const stream = data.compare(stdoutName, 0, 6, at, at + 6) === 0 ? 'stdout' : data.compare(stderrName, 0, 6, at, at + 6) === 0 ? 'stderr' : null;
    const tag = data[c - 2];
    if (tag !== 0x46 /* F */ && tag !== 0x50 /* P */) return `entry ${show()} is neither F nor P`;
    if (want % 100_000 === 1) {
      // Times are checked on a sample: well-formed and never going back.
      const time = data.toString('latin1', pos, pos + timeLen);
      if (!criTime.test(time) || time < lastTime) return `bad or backward time in ${show()}`;
      lastTime = time;
    }
    if (stream === 'stderr') {
      if (tag !== 0x46 || data.toString('latin1', c, nl) !== 'err') return `stderr entry ${show()}, want "err" whole`;
      errs++;
    } else if (stream === 'stdout') {
      let v = held;
      for (let i = c; i < nl; i++) {
        const d = data[i]! - 0x30;
        if (d < 0 || d > 9) return `stdout entry ${show()} is not a number`;
        if (d === 0 && i === c && heldDigits === 0) return `stdout entry ${show()} where line ${want} belongs`;
        v = v * 10 + d;
      }
      heldDigits += nl - c;
      if (tag === 0x50) {
        held = v;
      } else {
        if (heldDigits === 0 || v !== want) return `stdout entry ${show()} where line ${want} belongs`;
        want++;
        held = 0;
        heldDigits = 0;
      }
    } else {
      return `entry ${show()} names no stream`;
    }
    pos = nl + 1;
  }
  if (want !== n + 1 || heldDigits !== 0) return `stdout ends after line ${want - 1} of ${n}`;
  if (errs !== 1) return `${errs} stderr entries, want 1`;
  return null;
}

t.test(`SIGTERM after the shim closed the pipes: ${runs} runs of ${lines} lines, every line logged in order`, { timeout: 600_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-shimstop-');
  const random = seededRandom(seed);
  t.comment(`seed ${seed} (TASKIO_TEST_SEED)`);
  for (let run = 0; run < runs; run++) {
    const termDelayMs = Math.floor(random() * 101);
    const log = path.join(dir, `run-${run}.log`);
    const r = await runLikeShim({
      logger,
      args: ['path', log],
      task: ['/bin/sh', '-c', `/usr/bin/seq 1 ${lines}; echo err >&2`],
      termDelayMs,
    });
    const what = `run ${run + 1}, SIGTERM ${termDelayMs} ms after the close`;
    t.equal(r.taskStatus, 0, `${what}: the task ran`);
    t.same([r.code, r.signal, r.killed], [0, null, false], `${what}: the logger exited 0 on its own`);
    t.equal(r.stderr, '', `${what}: no warning`);
    const diff = checkLog(log, lines);
    t.equal(diff, null, `${what}: ${diff ?? 'every line, in order'}`);
    fs.rmSync(log);
    if (diff !== null || r.code !== 0) break;
  }
});

t.test('input that never ends after SIGTERM: the logger stops at its bound, warns, logs the cut line as P, exits 0', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-shimstop-');
  const log = path.join(dir, 'task.log');
  const drainMs = 300;
  const r = await runLikeShim({
    logger: process.execPath,
    args: [path.join(repoRoot, 'test/logfile/fixtures/shortDrainLogger.mjs'), String(drainMs), 'path', log],
    task: ['/bin/sh', '-c', 'echo from the task; echo oops >&2'],
    termDelayMs: 0,
    // A process that outlived the task holds stdout open, mid-line.
    lingeringStdout: 'a whole line\na line cut by the st',
  });
  t.same([r.code, r.signal, r.killed], [0, null, false], 'exit 0 on its own, long before the shim would kill it');
  const warning = r.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(warning, [{ level: 40, drainTimeoutMs: drainMs, id: 'shim-task-1', namespace: 'taskio-test', msg: /did not end within 300 ms after SIGTERM/ }], 'one pino warning');
  const entries = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ').slice(1).join(' '));
  t.same(entries.filter((e) => e.startsWith('stdout')), ['stdout F from the task', 'stdout F a whole line', 'stdout P a line cut by the st']);
  t.same(entries.filter((e) => e.startsWith('stderr')), ['stderr F oops']);
});

t.test('SIGTERM that lands after the driver returned (the logger on its way out): exit 0, not death by signal', { timeout: 60_000 }, async (t) => {
  const r = await runLikeShim({
    logger: process.execPath,
    args: [path.join(repoRoot, 'test/logfile/fixtures/lingeringDriver.mjs')],
    task: ['/bin/echo', 'hello'],
    termDelayMs: 0,
    termAfterStderr: 'driver returned\n',
  });
  t.same([r.code, r.signal, r.killed], [0, null, false]);
});
