/**
 * FIFO roots another user could control are refused (issue 8 §6), with real ownership: as root,
 * roots owned by uid 65534, group-writable or a symlink; and a child process running as uid 65534
 * with the defaults gets a private directory of its own, and refuses one planted for it.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { newCreator, newFIFOSetInDir, withFIFODir, withStreams } from '../../src/index.js';
import { runtimeDir } from '../../src/privateDir.js';
import { Collector, fdsUnder, repoRoot, tmpDir, unsafeRoots } from '../helpers/common.js';

t.setTimeout(120_000);

const NOBODY = 65534;


t.test('newFIFOSetInDir and withFIFODir refuse a root another user could control, naming it, and make nothing', async (t) => {
  const base = tmpDir(t);
  for (const [what, root, why] of unsafeRoots(base)) {
    const before = fs.readdirSync(root);
    await t.rejects(newFIFOSetInDir(root, 'task', false), { code: 'ERR_UNSAFE_DIR', message: new RegExp(`${root}: .*`) }, `${what}: newFIFOSetInDir`);
    await t.rejects(newCreator(withStreams(null, new Collector()), withFIFODir(root))('task'), { code: 'ERR_UNSAFE_DIR', message: why }, `${what}: newCreator`);
    t.same(fs.readdirSync(root), before, `${what}: nothing made inside`);
  }
  t.same(fs.readdirSync(path.join(base, 'target')), [], 'nothing made through the symlink');
  t.same(fdsUnder(base), [], 'no fd left open');
});

t.test('a root that passed once is checked again when it changed: mode, owner, symlink, a parent replaced', async (t) => {
  const base = tmpDir(t);
  const root = path.join(base, 'root');
  const made = async (): Promise<void> => { await (await newFIFOSetInDir(root, 'task', false)).close(); };
  await made();
  fs.chmodSync(root, 0o770);
  await t.rejects(newFIFOSetInDir(root, 'task', false), { code: 'ERR_UNSAFE_DIR', message: /writable by its group/ }, 'made group-writable after use');
  fs.chmodSync(root, 0o700);
  await made();
  fs.chownSync(root, NOBODY, NOBODY);
  await t.rejects(newFIFOSetInDir(root, 'task', false), { code: 'ERR_UNSAFE_DIR', message: /owned by uid 65534/ }, 'given to another user after use');
  fs.chownSync(root, 0, 0);
  await made();
  fs.renameSync(root, path.join(base, 'moved'));
  fs.symlinkSync(path.join(base, 'moved'), root);
  await t.rejects(newFIFOSetInDir(root, 'task', false), { code: 'ERR_UNSAFE_DIR', message: /symlink/ }, 'replaced by a symlink to the very directory that passed');
  t.same(fs.readdirSync(path.join(base, 'moved')), [], 'nothing made through the symlink');

  // Under the runtime directory the whole chain counts: a parent replaced by one others can write,
  // holding a private root of this user, is refused although the root itself looks private.
  // The runtime directory is the machine's (`/run/taskio` for root): made 0700 when missing, as
  // taskio makes it, and left there, as another test file may use it meanwhile.
  fs.mkdirSync(runtimeDir(), { recursive: true, mode: 0o700 });
  const run = fs.mkdtempSync(path.join(runtimeDir(), 'taskio-test-perf-'));
  t.teardown(() => fs.rmSync(run, { recursive: true, force: true }));
  const chained = path.join(run, 'parent', 'fifo');
  await (await newFIFOSetInDir(chained, 'task', false)).close();
  fs.renameSync(path.join(run, 'parent'), path.join(run, 'old'));
  fs.mkdirSync(path.join(run, 'parent'));
  fs.chmodSync(path.join(run, 'parent'), 0o757);
  fs.mkdirSync(chained, { mode: 0o700 });
  await t.rejects(newFIFOSetInDir(chained, 'task', false), { code: 'ERR_UNSAFE_DIR', message: new RegExp(`${path.join(run, 'parent')}: it is writable by others`) });
  t.same(fs.readdirSync(chained), [], 'nothing made in the new root');
});

/** Runs `script` (an ES module body with `m`, the built package) as uid/gid 65534 with `env`; resolves with its stdout. */
function asNobody(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const body = `const m = await import(${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))});\n${script}`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', body], { uid: NOBODY, gid: NOBODY, env, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const makeSets = `
const set = await m.newFIFOSetInDir(m.defaultFIFODir(), 'mine', false);
const io = await m.newCreator(m.withStreams(null, process.stderr))('mine2');
console.log(JSON.stringify({ fifoDir: m.defaultFIFODir(), set: set.config.stdout, io: io.config().stdout }));
io.cancel();
await io.close();
await set.close();
`;

t.test('as uid 65534 without XDG_RUNTIME_DIR: <tmpdir>/taskio-65534/fifo, made 0700 and its own', async (t) => {
  const tmp = tmpDir(t);
  fs.chmodSync(tmp, 0o1777); // a shared temp dir, as /tmp is
  const env = { PATH: process.env.PATH, TMPDIR: tmp };
  const base = path.join(tmp, `taskio-${NOBODY}`);

  // Someone else made the per-user directory first: refused, naming it, before anything is made in it.
  fs.mkdirSync(path.join(base, 'fifo'), { recursive: true, mode: 0o700 });
  fs.chmodSync(base, 0o755);
  const planted = await asNobody(makeSets, env);
  t.not(planted.code, 0, 'refused');
  t.match(planted.stderr, `refusing directory ${base}: it is owned by uid 0, not ${NOBODY}`);
  t.same(fs.readdirSync(path.join(base, 'fifo')), [], 'nothing made in the planted directory');
  fs.rmSync(base, { recursive: true });

  const r = await asNobody(makeSets, env);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { fifoDir: string; set: string; io: string };
  t.equal(out.fifoDir, path.join(base, 'fifo'));
  t.equal(path.dirname(path.dirname(out.set)), out.fifoDir);
  t.equal(path.dirname(path.dirname(out.io)), out.fifoDir);
  for (const d of [base, out.fifoDir]) {
    const st = fs.lstatSync(d);
    t.equal(st.uid, NOBODY, `${d} owned by 65534`);
    t.equal(st.mode & 0o777, 0o700, `${d} is 0700`);
  }
  t.same(fs.readdirSync(out.fifoDir), [], 'the sets removed what they made');
});

t.test('as uid 65534 with XDG_RUNTIME_DIR: $XDG_RUNTIME_DIR/taskio/fifo', async (t) => {
  const xdg = path.join(tmpDir(t), 'run-user');
  fs.mkdirSync(xdg, { mode: 0o700 });
  fs.chownSync(xdg, NOBODY, NOBODY);
  fs.chmodSync(path.dirname(xdg), 0o755);
  const r = await asNobody(makeSets, { PATH: process.env.PATH, XDG_RUNTIME_DIR: xdg });
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { fifoDir: string };
  t.equal(out.fifoDir, path.join(xdg, 'taskio', 'fifo'));
  t.equal(fs.lstatSync(path.join(xdg, 'taskio')).uid, NOBODY);
  t.equal(fs.lstatSync(out.fifoDir).mode & 0o777, 0o700);
});
