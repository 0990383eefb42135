/**
 * Every entry point of the container facade and the host runtimes that takes an id refuses a bad
 * one before any path is built (issue 8 §1), and a canary beside the state root survives — checked
 * with the real default state root of an unprivileged user (a child process as uid 65534), where a
 * bad id once turned the factory's cleanup into `rm -r` outside the root.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import { createContainer, ErrorCode, hostBackend, JobRuntime } from '../../../src/runtime/container/index.js';
import { HostRuntime } from '../../../src/runtime/host/index.js';
import { fdsUnder, repoRoot, tmpDir, unsafeRoots } from '../../helpers/common.js';
import { badIds } from '../../fixtures/badIds.js';

t.setTimeout(60_000);

const NOBODY = 65534;
const show = (id: string) => JSON.stringify(id).slice(0, 30);

/** A bundle the host backend can run, readable by everyone. */
function hostBundle(dir: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { args: ['sleep', '1000'], env: ['PATH=/bin:/usr/bin'], cwd: '/' } }), { mode: 0o644 });
  return dir;
}

t.test('createContainer: InvalidIdFormat (cause ERR_INVALID_ID) before the state directory is built', async (t) => {
  const base = tmpDir(t);
  const bundle = hostBundle(path.join(base, 'bundle'));
  const root = path.join(base, 'state');
  const backend = hostBackend({ jobPrefix: `ids-${crypto.randomBytes(3).toString('hex')}-` });
  for (const id of badIds) {
    const err = await createContainer({ id, bundle, backend, stateDir: path.join(root, 'c') }).then(() => null, (e: unknown) => e);
    t.match(err, { code: ErrorCode.InvalidIdFormat, cause: { code: 'ERR_INVALID_ID' } }, show(id));
  }
  await t.rejects(createContainer(null as never), { code: ErrorCode.InvalidIdFormat });
  t.notOk(fs.existsSync(root), 'no state root made');
  t.same(fdsUnder(base), []);
});

t.test('createContainer refuses a state root another user could control (ConfigInvalid, cause ERR_UNSAFE_DIR naming it) and makes nothing', async (t) => {
  const base = tmpDir(t);
  const bundle = hostBundle(path.join(base, 'bundle'));
  const backend = hostBackend({ jobPrefix: `ids-${crypto.randomBytes(3).toString('hex')}-` });
  for (const [, root, why] of unsafeRoots(base)) {
    const id = `c-${crypto.randomBytes(3).toString('hex')}`;
    const err = await createContainer({ id, bundle, backend, stateDir: path.join(root, id) }).then(() => null, (e: unknown) => e);
    t.match(err, { code: ErrorCode.ConfigInvalid, cause: { code: 'ERR_UNSAFE_DIR', message: why } }, root);
    t.match((err as Error).message, root, 'the message names the directory');
    t.same(fs.readdirSync(root), [], 'nothing made in it');
  }
  t.same(fs.readdirSync(path.join(base, 'target')), [], 'nothing made through the symlink');
});

t.test('JobRuntime and HostRuntime: every method that takes an id refuses a bad one with ERR_INVALID_ID', async (t) => {
  const base = tmpDir(t);
  const bundle = hostBundle(path.join(base, 'bundle'));
  const host = new HostRuntime();
  const jobs = new JobRuntime(new HostRuntime(), { jobPrefix: `ids-${crypto.randomBytes(3).toString('hex')}-` });
  for (const [name, rt] of [['HostRuntime', host], ['JobRuntime', jobs]] as const) {
    const calls: Array<[string, (id: string) => Promise<unknown>]> = [
      ['create', (id) => rt.create(id, bundle, {})], ['start', (id) => rt.start(id)], ['exec', (id) => rt.exec(id, { args: ['true'], cwd: '/' }, {})],
      ['kill', (id) => rt.kill(id, 'KILL')], ['delete', (id) => rt.delete(id)], ['state', (id) => rt.state(id)],
      ['stats', (id) => rt.stats(id)], ['pause', (id) => rt.pause(id)], ['resume', (id) => rt.resume(id)],
    ];
    for (const id of badIds) {
      for (const [call, fn] of calls) await t.rejects(fn(id), { code: 'ERR_INVALID_ID' }, `${name}.${call}(${show(id)})`);
    }
  }
  for (const id of badIds) {
    t.throws(() => jobs.jobName(id), { code: 'ERR_INVALID_ID' }, `jobName(${show(id)})`);
    await t.rejects(jobs.pids(id), { code: 'ERR_INVALID_ID' }, `pids(${show(id)})`);
  }
});

t.test('as uid 65534 with the default state root: bad ids leave the canaries beside and inside the root alone', async (t) => {
  const xdg = path.join(tmpDir(t), 'run-user');
  fs.chmodSync(path.dirname(xdg), 0o755);
  const taskio = path.join(xdg, 'taskio');
  const stateRoot = path.join(taskio, 'container');
  fs.mkdirSync(stateRoot, { recursive: true, mode: 0o700 });
  const canaries = [path.join(xdg, 'canary'), path.join(taskio, 'canary'), path.join(stateRoot, 'canary')];
  for (const c of canaries) {
    fs.mkdirSync(c);
    fs.writeFileSync(path.join(c, 'keep'), 'alive');
  }
  fs.mkdirSync(path.join(taskio, 'b'));
  fs.writeFileSync(path.join(taskio, 'b', 'keep'), 'alive');
  for (const d of [xdg, taskio, stateRoot, ...canaries, path.join(taskio, 'b')]) fs.chownSync(d, NOBODY, NOBODY);
  const bundle = hostBundle(path.join(path.dirname(xdg), 'bundle'));
  const listing = () => [xdg, taskio, stateRoot].map((d) => fs.readdirSync(d).sort());
  const before = listing();

  const script = `
const m = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))});
const out = [];
for (const id of ${JSON.stringify(badIds)}) {
  try {
    await m.createContainer({ id, bundle: ${JSON.stringify(bundle)}, backend: m.hostBackend() });
    out.push({ id, code: 'created' });
  } catch (err) {
    out.push({ id, code: err.code, cause: err.cause?.code });
  }
}
console.log(JSON.stringify(out));
`;
  const r = await new Promise<{ stdout: string; stderr: string; failed: boolean }>((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { uid: NOBODY, gid: NOBODY, env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: xdg }, timeout: 30_000 }, (err, stdout, stderr) => resolve({ stdout, stderr, failed: err !== null }));
  });
  t.notOk(r.failed, r.stderr);
  const results = JSON.parse(r.stdout) as Array<{ id: string; code: string; cause?: string }>;
  t.equal(results.length, badIds.length);
  for (const res of results) t.match(res, { code: ErrorCode.InvalidIdFormat, cause: 'ERR_INVALID_ID' }, show(res.id));
  for (const c of [...canaries, path.join(taskio, 'b')]) t.equal(fs.readFileSync(path.join(c, 'keep'), 'utf8'), 'alive', `${c} survives`);
  t.same(listing(), before, 'nothing made or removed around the state root');
});
