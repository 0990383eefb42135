import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, ensureRuntimeRoot, runtimeDir } from '../../src/privateDir.js';
import { removeInside } from '../../src/removeInside.js';
import { tmpDir } from '../helpers/common.js';

t.setTimeout(10_000);

t.test('ensurePrivateDir creates 0700 and refuses what another user could control', async (t) => {
  const base = tmpDir(t);
  const dir = ensurePrivateDir(path.join(base, 'a', 'b'));
  t.equal(fs.statSync(dir).mode & 0o777, 0o700);
  t.equal(ensurePrivateDir(dir), dir, 'an existing private dir is fine');
  fs.chmodSync(dir, 0o770);
  t.throws(() => ensurePrivateDir(dir), { code: 'ERR_UNSAFE_DIR', message: /writable by its group \(mode 0770\)/ });
  fs.chmodSync(dir, 0o703);
  t.throws(() => ensurePrivateDir(dir), { code: 'ERR_UNSAFE_DIR', message: /writable by others/ });
  fs.chmodSync(dir, 0o700);
  fs.chownSync(dir, 65534, 65534);
  t.throws(() => ensurePrivateDir(dir), { code: 'ERR_UNSAFE_DIR', message: new RegExp(`${dir}: it is owned by uid 65534`) });
  const link = path.join(base, 'link');
  const target = ensurePrivateDir(path.join(base, 'target'));
  fs.symlinkSync(target, link);
  t.throws(() => ensurePrivateDir(link), { code: 'ERR_UNSAFE_DIR', message: /symlink/ });
  const file = path.join(base, 'file');
  fs.writeFileSync(file, '');
  t.throws(() => ensurePrivateDir(file), { code: 'ERR_UNSAFE_DIR', message: /not a directory/ });
  t.throws(() => ensurePrivateDir(path.join(base, 'missing'), { create: false }), { code: 'ENOENT' });
  t.equal(fs.existsSync(path.join(base, 'missing')), false);
});

t.test('ensurePrivateDir with from checks every directory on the way down', async (t) => {
  const base = tmpDir(t);
  const top = path.join(base, 'top');
  const deep = path.join(top, 'a', 'b');
  t.equal(ensurePrivateDir(deep, { from: top }), deep);
  for (const d of [top, path.join(top, 'a'), deep]) t.equal(fs.statSync(d).mode & 0o777, 0o700, `${d} made 0700`);
  fs.chownSync(path.join(top, 'a'), 65534, 65534);
  t.throws(() => ensurePrivateDir(deep, { from: top }), { code: 'ERR_UNSAFE_DIR', message: new RegExp(`${top}/a: it is owned by uid 65534`) });
  t.equal(ensurePrivateDir(deep), deep, 'without from only the last one is checked');
  fs.chownSync(path.join(top, 'a'), 0, 0);
  fs.chmodSync(top, 0o777);
  t.throws(() => ensurePrivateDir(deep, { from: top }), { code: 'ERR_UNSAFE_DIR', message: new RegExp(`${top}: it is writable by its group`) });
  t.throws(() => ensurePrivateDir(base, { from: top }), { code: 'ERR_INVALID_ARG_VALUE' });
});

t.test('runtimeDir: /run/taskio for root, $XDG_RUNTIME_DIR/taskio, else <tmpdir>/taskio-<uid>', async (t) => {
  t.equal(runtimeDir(), '/run/taskio', 'this test runs as root');
  const base = tmpDir(t);
  // ensureRuntimeRoot on a directory outside the runtime dir checks that directory only.
  fs.chmodSync(base, 0o777);
  t.equal(ensureRuntimeRoot(path.join(base, 'x')), path.join(base, 'x'));
});

t.test('removeInside removes only strictly inside the root, resolving symlinks first', async (t) => {
  const base = tmpDir(t);
  const root = path.join(base, 'root');
  const canary = path.join(base, 'canary');
  fs.mkdirSync(path.join(root, 'task', 'sub'), { recursive: true });
  fs.mkdirSync(canary);
  fs.writeFileSync(path.join(canary, 'keep'), 'x');
  fs.symlinkSync(canary, path.join(root, 'escape'));
  for (const bad of [root, base, canary, path.join(root, '..'), path.join(root, '..', 'canary'), path.join(root, 'escape', 'keep'), '/', path.join(root, '.')]) {
    t.throws(() => removeInside(root, bad), { code: 'ERR_PATH_OUTSIDE_ROOT' }, `refuses ${bad}`);
  }
  removeInside(root, path.join(root, 'escape'));
  t.equal(fs.existsSync(path.join(root, 'escape')), false, 'a symlink inside is removed, not followed');
  t.equal(fs.readFileSync(path.join(canary, 'keep'), 'utf8'), 'x', 'the canary survives');
  fs.mkdirSync(path.join(root, '..dots'));
  removeInside(root, path.join(root, '..dots'));
  removeInside(root, path.join(root, 'task'));
  t.same(fs.readdirSync(root), []);
  removeInside(root, path.join(root, 'gone'));
  removeInside(path.join(base, 'no-root'), path.join(base, 'no-root', 'x'));
});
