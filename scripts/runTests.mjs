#!/usr/bin/env node
// The test runner of `npm test`: runs each compiled test file (tap's API, in-process) as its own
// `node` process, four at a time, and prints their TAP as one stream, as tap's runner does.
//
// Why not tap's runner: it starts every test file with two module hooks (`@tapjs/processinfo`,
// for coverage this suite does not collect, and `@tapjs/mock`, unused) and `--enable-source-maps`.
// Each hook moves module loading to a loader thread: a test file that imports the daemon's
// modules cost 1.2 CPU-s to start under them against 0.4 without (measured with a cpuacct cgroup,
// 6 December 2026). With 182 files on 2 cores that was a fifth of the suite's CPU.
// `npx tap FILE` still runs one file (tap's in-process API is the same).
//
// Usage: node scripts/runTests.mjs [FILE…] (default: every dist-test/test/**/*.test.js).
// Environment: TEST_JOBS (default 4), TEST_FILE_TIMEOUT seconds per file (default 300),
// TEST_CPU=1: each file runs in a cgroup2 directory of its own (cpu.stat), and its line says the CPU
// time it and all it started used but tasks in cgroups of their own (its daemons, commands, keepers;
// not runc's or runsc's containers, nor host tasks in their jobs); processes left in it at the end
// are named. The suite is bound by its 2 cores, so this is what a file costs it. (A cgroup v1
// hierarchy would not do: a host task stays in the file's directory of each hierarchy its job does
// not use, which host.test.js checks it does not.)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const jobs = Number(process.env.TEST_JOBS ?? 4);
const fileTimeout = Number(process.env.TEST_FILE_TIMEOUT ?? 300);
const cpuRoot = process.env.TEST_CPU ? `${cgroup2Mount()}/taskio-tests-${process.pid}` : undefined;
if (cpuRoot) fs.mkdirSync(cpuRoot);
let cpuTotal = 0;
/** Each file's cgroup, to name what it left running once all have run. */
const fileCgroups = [];

/** Where cgroup2 is mounted: /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid one. */
function cgroup2Mount() {
  const line = fs.readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[2] === 'cgroup2');
  if (!line) throw new Error('TEST_CPU needs a cgroup2 mount');
  return line.split(' ')[1];
}

/** Every `*.test.js` under `dir`, sorted as tap sorts them (by path). */
function testFiles(dir) {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.js'))
    .map((e) => path.relative(root, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

const files = process.argv.length > 2 ? process.argv.slice(2) : testFiles(path.join(root, 'dist-test', 'test'));
const totals = { total: 0, pass: 0, fail: 0, skip: 0, todo: 0 };
const failed = [];
const running = new Set();
const started = Date.now();
let next = 0, reported = 0;

process.stdout.write(`TAP version 14\n1..${files.length}\n`);

/** Runs one file; resolves with its whole output, its exit and its time. */
function runFile(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    // Its own process group, so a file that outlives its time goes with everything it started in it.
    const child = spawn(process.execPath, ['--import=./test/helpers/plainSpawn.mjs', file], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // tap's in-process root timeout (30 s by default); the file's own tests have their own.
      env: { ...process.env, TAP: '1', TAP_TIMEOUT: String(fileTimeout) },
    });
    running.add(child);
    // Before the child, still starting Node, runs anything of its own.
    const cgroup = cpuRoot && path.join(cpuRoot, String(child.pid));
    if (cgroup) {
      fs.mkdirSync(cgroup);
      fileCgroups.push({ file, cgroup });
      fs.writeFileSync(path.join(cgroup, 'cgroup.procs'), String(child.pid));
    }
    const out = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => out.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, (fileTimeout + 30) * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const cpuMs = cgroup ? Number(/^usage_usec (\d+)$/m.exec(fs.readFileSync(path.join(cgroup, 'cpu.stat'), 'utf8'))[1]) / 1e3 : undefined;
      resolve({ text: Buffer.concat(out).toString('utf8'), code, signal, timedOut, ms: Date.now() - t0, cpuMs });
    });
  });
}

/** Adds the counts of a file's last `# { total: …, pass: … }` line. */
function count(text) {
  const m = [...text.matchAll(/^# (\{ total: .* \})$/gm)].at(-1);
  if (!m) return;
  for (const [, key, n] of m[1].matchAll(/(\w+): (\d+)/g)) if (key in totals) totals[key] += Number(n);
}

function report(file, r) {
  const n = ++reported;
  const ok = r.code === 0 && !r.timedOut;
  count(r.text);
  if (!ok) failed.push(file);
  const body = r.text.trimEnd().split('\n').map((l) => (l === '' ? '' : `    ${l}`)).join('\n');
  const why = r.timedOut ? ` # killed after ${fileTimeout + 30} s` : r.code !== 0 ? ` # exit ${r.code ?? r.signal}` : '';
  const cpu = r.cpuMs === undefined ? '' : ` cpu=${Math.round(r.cpuMs)}ms`;
  if (r.cpuMs !== undefined) cpuTotal += r.cpuMs;
  process.stdout.write(`# Subtest: ${file}\n${body}\n${ok ? 'ok' : 'not ok'} ${n} - ${file} # time=${r.ms}ms${cpu}${ok ? '' : why}\n\n`);
}

async function worker() {
  while (next < files.length) {
    const file = files[next++];
    report(file, await runFile(file));
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of running) try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ }
    process.exit(130);
  });
}

await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));
process.stdout.write(`# { ${Object.entries(totals).map(([k, n]) => `${k}: ${n}`).join(', ')} }\n`);
if (failed.length > 0) process.stdout.write(`# failed: ${failed.join(' ')}\n`);
process.stdout.write(`# time=${Date.now() - started}ms${cpuRoot ? ` cpu=${Math.round(cpuTotal)}ms` : ''}\n`);
if (cpuRoot) {
  for (const { file, cgroup } of fileCgroups) {
    const left = fs.readFileSync(path.join(cgroup, 'cgroup.procs'), 'utf8').trim();
    if (left === '') fs.rmdirSync(cgroup);
    else process.stdout.write(`# left running by ${file}: pids ${left.split('\n').join(' ')}\n`);
  }
  try { fs.rmdirSync(cpuRoot); } catch { /* what a file left still runs in it */ }
}
process.exitCode = failed.length > 0 ? 1 : 0;
