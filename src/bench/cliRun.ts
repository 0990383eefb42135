/**
 * `taskio run --rm -- /bin/true` end to end — Node's start-up, the daemon round trips, the
 * runtime, the removal — beside the runtime's own `run` of the same bundle (`runsc run`,
 * `runc run`: create, start, wait and delete in one CLI call), and beside Node starting to run
 * nothing (what any Node command pays before its first line). The daemon runs already (it is
 * started once, as a user's would be); each command is a fresh process, as a person types it.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBusyboxBundle } from '../runtime/oci/index.js';
import { startBenchDaemon } from './daemon.js';
import { median, run, type Result } from './measure.js';
import { runtimeScratch, type RuntimeScratch } from './runtime.js';

type Dialect = 'runsc' | 'runc';

async function times(n: number, once: () => Promise<unknown>): Promise<number[]> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await once();
    xs.push(performance.now() - t0);
  }
  return xs;
}

const summary = (impl: string, xs: number[]): Result => ({ bench: 'cli-run', impl, runs: xs.length, median_ms: Math.round(median(xs) * 10) / 10 });

/** `taskio run --rm` vs `<runtime> run` of one `/bin/true` bundle, `n` runs each per round. */
export async function cliRunVariants(dialect: Dialect, n: number): Promise<{ variants: Array<[string, () => Promise<Result>]>; cleanup(): Promise<void> }> {
  const s: RuntimeScratch = runtimeScratch(dialect);
  const bundle = path.join(s.base, 'true');
  await createBusyboxBundle(bundle, { args: ['/bin/true'] });
  const daemon = await startBenchDaemon();
  // The command as npm installs it: the bin/taskio launcher, with the first node on the PATH.
  const command = fileURLToPath(new URL('../../bin/taskio', import.meta.url));
  const env = { ...process.env, TASKIO_ROOT: daemon.root, PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };
  const bareEnv = Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'NODE_EXTRA_CA_CERTS'));
  const global = await s.runtime.globalArgs();
  // All of them start the same way (the bench's spawner), so none pays for forking a bigger process.
  const taskio = (): Promise<unknown> => run(command, ['run', '--rm', '--runtime', dialect, '--bundle', bundle, '--', '/bin/true'], env);
  const own = (): Promise<unknown> => run(s.runtime.command, [...global, 'run', '--bundle', bundle, `own-${crypto.randomBytes(4).toString('hex')}`]);
  // The floor under any Node command: this Node started with the same environment, running nothing
  // (NODE_EXTRA_CA_CERTS, when set, makes Node 20 load a CA bundle at start-up), and without
  // NODE_EXTRA_CA_CERTS, as the launcher starts it.
  const node = (): Promise<unknown> => run(process.execPath, ['-e', '0'], env);
  const bareNode = (): Promise<unknown> => run(process.execPath, ['-e', '0'], bareEnv);
  return {
    variants: [
      ['taskio-run', async () => summary('taskio-run', await times(n, taskio))],
      [`${dialect}-run`, async () => summary(`${dialect}-run`, await times(n, own))],
      ['node-start', async () => summary('node-start', await times(n, node))],
      ['node-start-bare', async () => summary('node-start-bare', await times(n, bareNode))],
    ],
    async cleanup() {
      await daemon.stop();
      s.cleanup();
    },
  };
}
