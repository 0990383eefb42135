import t from 'tap';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { repoRoot } from '../helpers/common.js';

t.setTimeout(60_000);

/** This environment without malloc tuning of its own (which keepFreedMemory would respect). */
const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'GLIBC_TUNABLES' && !/^MALLOC_\w+_$/.test(k)));

/** Runs keepFreedMemory() twice in a fresh process (it changes process-wide malloc settings). */
function twice(env: NodeJS.ProcessEnv): [boolean, boolean] {
  const mod = path.join(repoRoot, 'dist/sys/index.js');
  const script = `import(${JSON.stringify(mod)}).then((m) => console.log(JSON.stringify([m.keepFreedMemory(), m.keepFreedMemory()])))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...clean, ...env }, encoding: 'utf8' })) as [boolean, boolean];
}

t.test('keepFreedMemory sets glibc thresholds once per process', async (t) => {
  t.same(twice({}), [true, false]);
});

t.test('keepFreedMemory leaves a process that tunes malloc itself alone', async (t) => {
  t.same(twice({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=131072' }), [false, false]);
  t.same(twice({ MALLOC_TRIM_THRESHOLD_: '131072' }), [false, false]);
  t.same(twice({ GLIBC_TUNABLES: 'glibc.rtld.optional_static_tls=512' }), [true, false], 'other tunables do not count');
});

/**
 * In a fresh process: the trim threshold after keepFreedMemory, while copies flow, and after they
 * stopped; and what the trim then gave back of 160 MiB malloc'd in 1 MiB blocks (heap memory once
 * keepFreedMemory ran) and freed while the copies flowed.
 */
const burstScript = (mod: string): string => `
const fs = await import('node:fs');
const koffi = (await import('koffi')).default;
const m = await import(${JSON.stringify(mod)});
const c = koffi.load('libc.so.6');
const malloc = c.func('void *malloc(size_t)'), free = c.func('void free(void *)'), memset = c.func('void *memset(void *, int, size_t)');
const rss = () => Number(fs.readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096;
m.keepFreedMemory();
const thresholds = [m.trimThresholdSet()];
m.copiesFlowing();
thresholds.push(m.trimThresholdSet());
const blocks = [];
for (let i = 0; i < 160; i++) { const p = malloc(1 << 20); memset(p, 1, 1 << 20); blocks.push(p); }
for (const p of blocks.reverse()) free(p);
const before = rss();
const alive = setInterval(() => undefined, 1000); // the hold's timer does not keep a process alive
await m.copiesIdle();
clearInterval(alive);
thresholds.push(m.trimThresholdSet());
console.log(JSON.stringify({ thresholds, trimmed: before - rss() }));
`;

t.test('copiesFlowing keeps freed heap while copies flow and gives it back once they stop', async (t) => {
  t.setTimeout(60_000);
  const mod = path.join(repoRoot, 'dist/sys/index.js');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', burstScript(mod)], { env: clean, encoding: 'utf8', cwd: repoRoot });
  const { thresholds, trimmed } = JSON.parse(out) as { thresholds: number[]; trimmed: number };
  const mib = 1 << 20;
  t.same(thresholds, [64 * mib, 256 * mib, 64 * mib], 'trim threshold: 64 MiB, 256 MiB while copies flow, 64 MiB after');
  t.ok(trimmed >= 120 * mib, `once they stopped, the trim gave the freed heap back (${trimmed / mib} MiB)`);
});
