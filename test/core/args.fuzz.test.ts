/**
 * Seeded fuzz of the public functions that take a signal, a window size, a pid, a limit, a log size
 * option, a path or a URI (issue 8): a few hundred generated bad values each get a `TaskioError`
 * with the documented `code`, and afterwards this process has the fds, the files under its scratch
 * directory, the child processes and the mounts it had before. (Ids are fuzzed in
 * test/runtime/ids.fuzz.test.ts.) Reproduce a failure with the seed it prints.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { TaskioError } from '../../src/errors.js';
import { reap } from '../../src/sys/index.js';
import { checkWinSize } from '../../src/runtime/console/index.js';
import { HostRuntime, HostTerminal } from '../../src/runtime/host/index.js';
import { Runsc, signalNumber } from '../../src/runtime/oci/index.js';
import { Init } from '../../src/runtime/proc/index.js';
import { createIO, parseTarget } from '../../src/runtime/stdio/index.js';
import { CPURateControlType, JobObject } from '../../src/runtime/jobobject/index.js';
import { followLog, logFile, logURIGenerator, openLogWriter, parseLogOptions } from '../../src/logfile/index.js';
import { newConsoleSocket } from '../../src/runtime/console/index.js';
import { fdCount, tmpDir } from '../helpers/common.js';

t.setTimeout(180_000);

const seed = 0x8f22e1;
const numRuns = 300;

/** What this process holds or made: compared before and after each batch of bad calls. */
function snapshot(base: string): { fds: number; files: string[]; children: number[]; mounts: string } {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      files.push(path.relative(base, p));
      if (e.isDirectory()) walk(p);
    }
  };
  walk(base);
  const children = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((pid) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
    } catch {
      return false; // it exited while we looked
    }
  }).map(Number);
  // Only the mounts made under base: the test files beside this one mount tmpfs of their own meanwhile.
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => {
    const point = l.split(' ')[4];
    return point !== undefined && (point === base || point.startsWith(`${base}/`));
  }).join('\n');
  return { fds: fdCount(), files: files.sort(), children, mounts };
}

/** The error a call raised (synchronously or as a rejection), or null when it succeeded. */
async function failure(call: () => unknown): Promise<unknown> {
  try {
    await call();
    return null;
  } catch (err) {
    return err;
  }
}

/** True when `err` is a TaskioError whose code is one of `codes`; otherwise says what it was. */
function typed(err: unknown, ...codes: string[]): true | string {
  if (err instanceof TaskioError && codes.includes(err.code)) return true;
  return `want ${codes.join('|')}, got ${err === null ? 'success' : `${(err as Error)?.name}: ${(err as { code?: string })?.code} ${(err as Error)?.message}`}`;
}

/** Runs a property over `arb` where each check returns true or what went wrong; names the first failure. */
async function property<T>(t: Test, what: string, arb: fc.Arbitrary<T>, checks: (v: T) => Promise<Array<true | string>>): Promise<void> {
  await fc.assert(fc.asyncProperty(arb, async (v) => {
    const bad = (await checks(v)).find((r) => r !== true);
    if (bad !== undefined) throw new Error(`${what}: ${bad}`);
  }), { seed, numRuns });
  t.pass(`${what}: ${numRuns} generated bad values refused with a code (seed ${seed})`);
}

/** Whatever JavaScript value a careless caller may pass where a number or a string belongs. */
const junk = fc.oneof(
  fc.constantFrom(null, undefined, true, {}, [], NaN, Infinity, -Infinity, -0.5, 1.5, 2 ** 53, 10n, Symbol('x'), () => 9),
  fc.double(),
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

/** The signal rule as the documentation states it, to tell a bad value from a good one. */
function isSignal(v: unknown): boolean {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 1 && v <= 64;
  if (typeof v !== 'string') return false;
  if (/^\d+$/.test(v)) return Number(v) >= 1 && Number(v) <= 64;
  const name = v.toUpperCase();
  return Object.hasOwn(os.constants.signals, name.startsWith('SIG') ? name : `SIG${name}`);
}
const badSignal = fc.oneof(
  junk,
  fc.constantFrom('0', '65', '-9', '+9', ' 9', '9 ', '9\n', '0x9', '1e1', 'SIG', 'SIGFOO', 'KILL ', 'SIG_KILL', 'kill\0', 'SIGSIGKILL'),
  fc.integer({ min: 65, max: 2 ** 31 }).map(String),
).filter((v) => !isSignal(v));

const cell = fc.oneof(junk, fc.constantFrom(0, -1, 65536, 2 ** 31, 1e10));
const badWinSize = fc.oneof(
  junk,
  fc.record({ cols: cell, rows: cell }),
  fc.record({ cols: fc.integer({ min: 1, max: 65535 }), rows: cell }),
  fc.record({ cols: cell, rows: fc.integer({ min: 1, max: 65535 }) }),
).filter((ws) => {
  const ok = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535;
  return !(typeof ws === 'object' && ws !== null && ok((ws as { cols?: unknown }).cols) && ok((ws as { rows?: unknown }).rows));
});

// `undefined` is no pid at all: for a kill it means "the init".
const badPid = fc.oneof(junk, fc.constantFrom(0, -1, 2 ** 31, -(2 ** 31), 0.5))
  .filter((p) => p !== undefined && !(typeof p === 'number' && Number.isSafeInteger(p) && p > 0 && p < 2 ** 31));

t.test('signals, window sizes and pids: refused with a code before any process is touched', async (t) => {
  const base = tmpDir(t, 'taskio-fuzz-args-');
  const bundle = path.join(base, 'bundle');
  fs.mkdirSync(bundle);
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ process: { args: ['sleep', '1000'], cwd: '/' } }));
  const logPath = path.join(base, 'runtime.log');
  const runsc = new Runsc({ command: '/usr/sbin/runc', dialect: 'runc', root: path.join(base, 'root'), logPath });
  // A host task that runs, so the calls reach the point where a running process would be signalled.
  const host = new HostRuntime();
  const id = `fuzz-args-${process.pid}`;
  const init = new Init(id, host, { stdin: '', stdout: '', stderr: '', terminal: false });
  await init.create({ id, bundle, terminal: false, stdin: '', stdout: '', stderr: '' });
  t.teardown(async () => {
    await init.kill('KILL').catch(() => undefined);
    await init.wait();
    await init.delete();
  });
  await init.start();
  const pid = init.pid();
  const terminal = new HostTerminal();
  t.teardown(() => terminal.close());
  const before = snapshot(base);

  await property(t, 'signals', badSignal, async (sig) => {
    const s = sig as string;
    return [
      typed(await failure(() => signalNumber(s)), 'ERR_INVALID_SIGNAL'),
      typed(await failure(() => init.kill(s)), 'ERR_INVALID_SIGNAL'),
      typed(await failure(() => init.kill(s, true)), 'ERR_INVALID_SIGNAL'),
      typed(await failure(() => host.kill(id, s)), 'ERR_INVALID_SIGNAL'),
      typed(await failure(() => runsc.kill(id, s)), 'ERR_INVALID_SIGNAL'),
    ];
  });
  await property(t, 'window sizes', badWinSize, async (ws) => {
    const w = ws as { cols: number; rows: number };
    const codes = ['ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_TYPE'];
    return [
      typed(await failure(() => checkWinSize(w)), ...codes),
      typed(await failure(() => init.resize(w)), ...codes),
      typed(await failure(() => terminal.resize(w)), ...codes),
    ];
  });
  await property(t, 'pids', badPid, async (p) => {
    const n = p as number;
    return [
      typed(await failure(() => reap(n)), 'ERR_INVALID_ARG_VALUE'),
      typed(await failure(() => host.kill(id, 'TERM', { pid: n })), 'ERR_INVALID_ARG_VALUE'),
      typed(await failure(() => runsc.kill(id, 'TERM', { pid: n })), 'ERR_INVALID_ARG_VALUE'),
    ];
  });
  // A well-formed pid that is not one of the task's is not signalled either (kill(2)'s ESRCH).
  typed(await failure(() => host.kill(id, 'TERM', { pid: process.pid })), 'ESRCH');
  t.equal(await init.status(), 'running', 'the task was never signalled');
  t.equal(init.pid(), pid);
  t.notOk(fs.existsSync(logPath), 'the runtime CLI never ran');
  t.same(snapshot(base), before, 'no fd, file, process or mount left');
});

t.test('job object limits, exit codes and pids: refused with a code, the cgroup unchanged', async (t) => {
  const base = tmpDir(t, 'taskio-fuzz-job-');
  const job = await JobObject.create({ name: `fuzz-args-${process.pid}` });
  t.teardown(() => job.close());
  const files = (): Record<string, string> => Object.fromEntries(job.cgroupPaths.flatMap((dir) => fs.readdirSync(dir)
    .filter((f) => /^(cpu|memory|io|blkio)\./.test(f) && !/stat|usage|events|pressure|failcnt|max_usage|watermark|peak/.test(f))
    .flatMap((f) => {
      try {
        return [[path.join(dir, f), fs.readFileSync(path.join(dir, f), 'utf8')]];
      } catch {
        return []; // write-only control files
      }
    })));
  const limits = files();
  const before = snapshot(base);
  const badNumber = fc.oneof(junk, fc.constantFrom(0, -1, 10001, 2 ** 64, -(2 ** 53)));
  await property(t, 'CPU rates and weights', fc.tuple(fc.constantFrom(CPURateControlType.RateBased, CPURateControlType.WeightBased), badNumber)
    .filter(([type, v]) => !(Number.isInteger(v) && (v as number) >= 1 && (v as number) <= (type === CPURateControlType.RateBased ? 10000 : 9))), async ([type, v]) => [
    typed(await failure(() => job.setCPULimit(type, v as number)), 'ERR_OUT_OF_RANGE'),
    // In a JobLimits, 0 (and no value) leaves the limit as it is.
    v === 0 || v === undefined ? true
      : typed(await failure(() => job.setResourceLimits(type === CPURateControlType.RateBased ? { cpuLimit: v as number } : { cpuWeight: v as number })), 'ERR_OUT_OF_RANGE'),
  ]);
  await property(t, 'CPU control types', fc.oneof(junk, fc.integer({ min: 3, max: 1000 })).filter((v) => v !== 1 && v !== 2), async (type) => [
    typed(await failure(() => job.setCPULimit(type as CPURateControlType, 50)), 'ERR_INVALID_ARG_VALUE'),
  ]);
  await property(t, 'memory limits', fc.oneof(junk, fc.constantFrom(-1n, 2n ** 63n, 2n ** 64n, -1, 0.5, '1G')).filter((v) => v !== 0 && v !== 0n && !(
    (typeof v === 'bigint' && v >= 1n && v < 2n ** 63n) || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1))), async (v) => [
    typed(await failure(() => job.setMemoryLimit(v as number)), 'ERR_OUT_OF_RANGE'),
    v === undefined ? true : typed(await failure(() => job.setResourceLimits({ memoryLimitInBytes: v as number })), 'ERR_OUT_OF_RANGE'),
  ]);
  await property(t, 'I/O limits', badNumber.filter((v) => !(Number.isSafeInteger(v) && (v as number) >= 0)), async (v) => [
    typed(await failure(() => job.setIOLimit(v as number, 0)), 'ERR_OUT_OF_RANGE'),
    typed(await failure(() => job.setIOLimit(0, v as number)), 'ERR_OUT_OF_RANGE'),
    v === undefined ? true : typed(await failure(() => job.setResourceLimits({ maxBandwidth: v as number })), 'ERR_OUT_OF_RANGE'),
  ]);
  await property(t, 'exit codes', badNumber.filter((v) => v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff)), async (v) => [
    typed(await failure(() => job.terminate(v as number)), 'ERR_OUT_OF_RANGE'),
  ]);
  await property(t, 'pids to assign', fc.oneof(junk, fc.constantFrom(0, -1, 2 ** 32)).filter((p) => !(typeof p === 'number' && Number.isSafeInteger(p) && p > 0 && p <= 0xffffffff)), async (p) => [
    typed(await failure(() => job.assign(p as number)), 'ERR_INVALID_ARG_VALUE'),
  ]);
  t.same(files(), limits, 'no limit file of the job changed');
  t.same(await job.pids(), [], 'nothing was moved into the job');
  t.same(snapshot(base), before, 'no fd, file, process or mount left');
});

t.test('log paths, log size options and stdio URIs: refused with a code, nothing made', async (t) => {
  const base = tmpDir(t, 'taskio-fuzz-log-');
  const file = path.join(base, 'task.log');
  const before = snapshot(base);
  const relative = fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('', '.', '..', 'x.log', './x.log', '../x.log', '~/x.log'), junk)
    .filter((p) => !(typeof p === 'string' && path.isAbsolute(p)));
  await property(t, 'log paths', relative, async (p) => {
    const s = p as string;
    return [
      typed(await failure(() => logFile(s)('fuzz')), 'ERR_INVALID_LOG_PATH'),
      typed(await failure(() => logURIGenerator('file', s)), 'ERR_INVALID_LOG_PATH'),
      typed(await failure(() => openLogWriter(s)), 'ERR_INVALID_LOG_PATH'),
      typed(await failure(() => followLog(s).next()), 'ERR_INVALID_LOG_PATH'),
    ];
  });
  const sizeText = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('0', '-1', '1.5', '1TB', '10 M B', '99999999999999999999', '0k', '1e3', ''));
  await property(t, 'log size options', fc.tuple(fc.constantFrom('maxSize', 'maxLineSize', 'maxFiles'), sizeText, junk), async ([key, text, value]) => {
    const query = key === 'maxFiles' ? `format=cri&maxSize=1MB&maxFiles=${encodeURIComponent(text)}` : key === 'maxLineSize'
      ? `format=cri&maxLineSize=${encodeURIComponent(text)}` : `maxSize=${encodeURIComponent(text)}`;
    const opts = key === 'maxFiles' ? { format: 'cri' as const, maxSize: 1024, maxFiles: value as number }
      : { format: 'cri' as const, [key]: value as number };
    const good = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 1;
    const parsed = await failure(() => parseLogOptions(new URL(`file://${file}?${query}`)));
    return [
      // A text that happens to be a valid size parses; every other one is refused.
      parsed === null ? true : typed(parsed, 'ERR_INVALID_LOG_OPTION'),
      // An option left undefined is not given at all.
      good(value) || value === undefined ? true : typed(await failure(() => openLogWriter(file, opts)), 'ERR_INVALID_LOG_OPTION'),
    ];
  });
  // Bad by construction: a FIFO or logger URI with a host or no absolute path (what follows `//`
  // never starts with `/`), a relative or NUL-holding FIFO path, a bad escape, an unknown scheme, a
  // file:// URI with a host or a bad option, or no string at all. None names a real target.
  const rest = fc.string({ unit: 'binary', maxLength: 30 }).filter((s) => !s.startsWith('/'));
  const uri = fc.oneof(
    fc.tuple(fc.constantFrom('binary', 'binary-v2', 'fifo', 'FIFO'), rest).map(([scheme, s]) => `${scheme}://${s}`),
    rest.filter((s) => !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s) && s !== ''),
    fc.string({ unit: 'binary', maxLength: 20 }).map((s) => `/run/x${s}\0y`),
    fc.constantFrom('binary://usr/bin/logger', 'fifo://host/x', 'binary:///%ff', 'fifo:///%zz', 'fifo:relative', 'file://host/x',
      `file://${file}?nope=1`, `file://${file}?maxSize=0`, `file://${file}?maxFiles=2`, 'file:relative', 'binary://', 'ftp://x/y',
      'syslog://x', 'a:b', 'binary:///bin/cat?a=%00', 'x:', 'http://[::1'),
    junk,
  );
  const codes = ['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE', 'ERR_UNKNOWN_STDIO_SCHEME', 'ERR_INVALID_LOG_URI', 'ERR_INVALID_LOG_OPTION', 'ERR_INVALID_LOG_PATH'];
  await property(t, 'stdio URIs', uri, async (u) => [
    typed(await failure(() => parseTarget(u as string)), ...codes),
    typed(await failure(() => createIO({ terminal: false, stdin: '', stdout: u as string, stderr: '' }, { id: 'fuzz' })), ...codes),
    typed(await failure(() => createIO({ terminal: false, stdin: u as string, stdout: '', stderr: '' }, { id: 'fuzz' })), ...codes),
  ]);
  t.same(snapshot(base), before, 'no fd, file, process or mount left');
});

t.test('console socket directories too long for a unix socket: refused before anything is made', async (t) => {
  const base = tmpDir(t, 'taskio-fuzz-console-');
  const before = snapshot(base);
  await property(t, 'console socket directories', fc.integer({ min: 80, max: 4000 }).map((n) => path.join(base, 'd'.repeat(Math.max(1, n - base.length)))), async (dir) => [
    typed(await failure(() => newConsoleSocket(dir)), 'ERR_CONSOLE_SOCKET'),
  ]);
  t.same(snapshot(base), before, 'no directory made, no fd left');
});
