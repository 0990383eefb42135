/**
 * Seeded fuzz of every id entry point of the runtime core (issue 8): a few hundred generated bad
 * ids each — traversal pieces, separators, NUL, newlines, flags, any UTF-16, lengths past the
 * limit — get `ERR_INVALID_ID` (the facade: `InvalidIdFormat` with that cause) before any path or
 * command is built: no runtime call logged, no directory, no fd. Reproduce a failure with the seed
 * it prints.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { createContainer, ErrorCode, hostBackend, JobRuntime } from '../../src/runtime/container/index.js';
import { HostRuntime } from '../../src/runtime/host/index.js';
import { Runsc } from '../../src/runtime/oci/index.js';
import { Init } from '../../src/runtime/proc/index.js';
import { newFIFOSetInDir } from '../../src/fifo/index.js';
import { fdCount, tmpDir } from '../helpers/common.js';

t.setTimeout(120_000);

const rule = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,75}$/;
const piece = fc.constantFrom('..', '.', '/', 'a', 'B7', '\0', '\n', '-', '_', ' ', 'é', '\\', '%2e', '~');
const badId = fc.oneof(
  fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('a', '.', '-', '_', '9'), minLength: 77, maxLength: 1100 }),
).filter((id) => !rule.test(id));
const params = { seed: 0x7a5c10, numRuns: 300 };

t.test('every id entry point refuses generated bad ids before anything is built', async (t) => {
  const base = tmpDir(t);
  const bundle = path.join(base, 'bundle');
  fs.mkdirSync(bundle);
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ process: { args: ['true'], cwd: '/' } }));
  const runtimeRoot = path.join(base, 'runtime-root');
  const runsc = new Runsc({ command: '/usr/sbin/runc', dialect: 'runc', root: runtimeRoot, logPath: path.join(base, 'log.json') });
  const host = new HostRuntime();
  const jobs = new JobRuntime(new HostRuntime(), { jobPrefix: 'fuzz-' });
  const backend = hostBackend({ jobPrefix: 'fuzz-' });
  const fifoRoot = path.join(base, 'fifo');
  const stateRoot = path.join(base, 'state');
  const stdio = { stdin: '', stdout: '', stderr: '', terminal: false };
  const fds = fdCount();
  await fc.assert(fc.asyncProperty(badId, async (id) => {
    const invalid = (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_ID';
    const rejects = async (p: () => Promise<unknown>, ok = invalid) => ok(await Promise.resolve().then(p).then(() => null, (e: unknown) => e));
    const checks = [
      await rejects(async () => new Init(id, host, stdio)),
      await rejects(() => runsc.create(id, bundle)), await rejects(() => runsc.state(id)), await rejects(() => runsc.kill(id, 'KILL')),
      await rejects(() => runsc.delete(id, { force: true })), await rejects(() => runsc.exec(id, { args: ['true'], cwd: '/' })),
      await rejects(() => host.create(id, bundle, {})), await rejects(() => host.kill(id, 'KILL')),
      await rejects(() => jobs.create(id, bundle, {})), await rejects(async () => jobs.jobName(id)),
      await rejects(() => newFIFOSetInDir(fifoRoot, id, false)),
      await rejects(() => createContainer({ id, bundle, backend, stateDir: path.join(stateRoot, 'c') }), (e) => (e as { code?: string; cause?: { code?: string } }).code === ErrorCode.InvalidIdFormat && invalid((e as { cause?: unknown }).cause)),
    ];
    return checks.every(Boolean);
  }), params);
  t.pass(`${params.numRuns} generated ids refused at 12 entry points (seed ${params.seed})`);
  t.notOk(fs.existsSync(path.join(base, 'log.json')), 'the runtime never ran');
  for (const d of [runtimeRoot, fifoRoot, stateRoot]) t.notOk(fs.existsSync(d), `${path.basename(d)} not made`);
  t.equal(fdCount(), fds, 'no fd left open');
});
