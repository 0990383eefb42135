import t from 'tap';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { repoRoot } from '../helpers/common.js';

t.setTimeout(60_000);

/** Runs keepFreedMemory() twice in a fresh process (it changes process-wide malloc settings). */
function twice(env: NodeJS.ProcessEnv): [boolean, boolean] {
  const mod = path.join(repoRoot, 'dist/sys/index.js');
  const script = `import(${JSON.stringify(mod)}).then((m) => console.log(JSON.stringify([m.keepFreedMemory(), m.keepFreedMemory()])))`;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'GLIBC_TUNABLES' && !/^MALLOC_\w+_$/.test(k)));
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
