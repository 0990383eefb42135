/**
 * `npm run soak`: the reattach, leak and fault soaks of issue 12, one JSON line per result (and
 * progress lines with `"progress"`). Sizes are flags, so a shorter run is one command away:
 *
 *   node dist/soak/main.js [--only reattach,leaks,faults] [--seed N]
 *     [--reattach-cycles 1000] [--host-cycles 10000] [--runc-cycles 1000] [--runsc-cycles 200]
 *
 * Exits 1 when a target does not hold (bytes lost or duplicated on detach, something left behind,
 * a fault not ending in its defined state).
 */
import { parseArgs } from 'node:util';
import { faultSoak } from './faults.js';
import { leakSoak } from './leaks.js';
import { reattachSoak } from './reattach.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'reattach,leaks,faults' },
    seed: { type: 'string', default: '12' },
    'reattach-cycles': { type: 'string', default: '1000' },
    'host-cycles': { type: 'string', default: '10000' },
    'runc-cycles': { type: 'string', default: '1000' },
    'runsc-cycles': { type: 'string', default: '200' },
  },
});

function count(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a whole number ≥ 0, got ${JSON.stringify(text)}`);
  return n;
}

const only = new Set(values.only.split(','));
for (const o of only) if (!['reattach', 'leaks', 'faults'].includes(o)) throw new Error(`--only: unknown soak ${JSON.stringify(o)} (reattach, leaks, faults)`);
const seed = count('seed', values.seed);
const print = (o: unknown): void => { process.stdout.write(`${JSON.stringify(o)}\n`); };
let ok = true;

if (only.has('reattach')) {
  const cycles = count('reattach-cycles', values['reattach-cycles']);
  for (const backend of ['host', 'runc'] as const) {
    const r = await reattachSoak({ backend, cycles, seed, progress: (done) => print({ progress: 'reattach', backend, done }) });
    print({ ...r, jumps: r.jumps.slice(0, 20) });
    ok &&= r.lostOnDetach === 0 && r.duplicated === 0 && r.corrupt === 0 && r.sha256.equal && r.lostOnKill.max <= r.maxReadBytes && r.clean;
  }
}
if (only.has('leaks')) {
  for (const backend of ['host', 'runc', 'runsc'] as const) {
    const cycles = count(`${backend}-cycles`, values[`${backend}-cycles`]);
    if (cycles === 0) continue;
    const r = await leakSoak({ backend, cycles, seed, progress: (s) => print({ progress: 'leaks', backend, ...s }) });
    print(r);
    ok &&= r.clean && r.failedExits === 0 && r.growth.fds <= 0 && r.growth.children <= 0;
  }
}
if (only.has('faults')) {
  for (const r of await faultSoak()) {
    print(r);
    ok &&= r.ok;
  }
}
process.exitCode = ok ? 0 : 1;
