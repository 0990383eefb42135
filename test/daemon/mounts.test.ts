import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { DaemonClient } from '../../src/daemon/index.js';
import { createBusyboxBundle } from '../../src/runtime/oci/index.js';
import { client, daemonRoot, runToEnd, taskDirs, taskLeftovers, treeOf } from './helpers.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

/** A host directory for the tasks to see, removed with the tests. */
const host = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-mounts-'));
t.teardown(() => fs.rmSync(host, { recursive: true, force: true }));
fs.writeFileSync(path.join(host, 'in.txt'), 'from the host\n');

const runTask = (req: Parameters<DaemonClient['createTask']>[0]) => runToEnd(c, req);

for (const runtime of ['runc', 'runsc'] as const) {
  t.test(`${runtime}: -v binds a host directory (rw) and file (ro), --tmpfs a memory filesystem`, { timeout: 90_000 }, async (t) => {
    const script = 'cat /data/in.txt; echo written > /data/out-' + runtime + '; cat /etc/motd; echo x 2>/dev/null > /etc/motd || echo ro-file; ' +
      'touch /scratch/f && echo tmpfs-ok; stat -c %a /scratch; df -k /scratch | tail -1 | tr -s " " | cut -d" " -f2; echo x > /tmp/shadowed; ls /tmp';
    const r = await runTask({
      id: `mounts-${runtime}`, runtime, args: ['sh', '-c', script],
      mounts: [
        { type: 'bind', source: host, target: '/data' },
        { type: 'bind', source: path.join(host, 'in.txt'), target: '/etc/motd', readonly: true },
        { type: 'tmpfs', target: '/scratch', size: 1024 * 1024, mode: 0o750 },
        // Replaces the default bundle's /tmp tmpfs, as docker's -v over an image's mount.
        { type: 'bind', source: host, target: '/tmp' },
      ],
    });
    t.equal(r.code, 0, r.out);
    t.same(r.out.split('\n').slice(0, 6), ['from the host', 'from the host', 'ro-file', 'tmpfs-ok', '750', '1024'], 'what the task saw');
    t.match(r.out, /in\.txt/, '/tmp is the host directory, not the default tmpfs');
    t.equal(fs.readFileSync(path.join(host, `out-${runtime}`), 'utf8'), 'written\n', 'the task wrote into the host directory');
    t.equal(fs.readFileSync(path.join(host, 'shadowed'), 'utf8'), 'x\n');
  });

  t.test(`${runtime}: a new working directory and mount points are made in a rootfs of the task's own, never in the shared busybox one`, { timeout: 90_000 }, async (t) => {
    t.equal((await runTask({ runtime, args: ['true'] })).code, 0); // the shared rootfs is made by the first task
    const shared = path.join(root, 'rootfs', 'busybox', 'rootfs');
    const before = treeOf(shared);
    const id = `own-rootfs-${runtime}`;
    const r = await runTask({
      id, runtime, cwd: `/work-${runtime}/here`, args: ['sh', '-c', `pwd; cat /in-${runtime}/deep/in.txt; ls /etc/motd-${runtime}; touch /x 2>/dev/null || echo ro`],
      mounts: [
        { type: 'bind', source: host, target: `/in-${runtime}/deep`, readonly: true },
        { type: 'bind', source: path.join(host, 'in.txt'), target: `/etc/motd-${runtime}`, readonly: true },
      ],
    });
    t.equal(r.out, `/work-${runtime}/here\nfrom the host\n/etc/motd-${runtime}\nro\n`, 'the task has its places, on a read-only rootfs');
    t.same(treeOf(shared), before, 'the shared rootfs is as it was');
    t.notOk(taskDirs(root).includes(id), 'its rootfs went with the task (runToEnd removed it)');
    // Nothing new to make: the task runs on the shared rootfs itself.
    await c.createTask({ id, runtime, args: ['sleep', '1000'], cwd: '/tmp' });
    t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
    t.notOk(fs.existsSync(path.join(root, 'tasks', id, 'rootfs')), 'no copy where none is needed');
  });

  t.test(`${runtime}: mounts go shallowest first, in whatever order they are given (docker sorts them)`, { timeout: 90_000 }, async (t) => {
    const outer = fs.mkdtempSync(path.join(host, 'outer-')), inner = fs.mkdtempSync(path.join(host, 'inner-'));
    fs.writeFileSync(path.join(outer, 'o'), 'outer\n');
    fs.writeFileSync(path.join(inner, 'i'), 'inner\n');
    const r = await runTask({
      runtime, args: ['sh', '-c', 'cat /nest/o /nest/sub/i'],
      // The deeper one first: mounted in this order, /nest would cover /nest/sub.
      mounts: [{ type: 'bind', source: inner, target: '/nest/sub' }, { type: 'bind', source: outer, target: '/nest' }],
    });
    t.same(r, { code: 0, out: 'outer\ninner\n' }, 'both are seen, the inner one on the outer one');
  });

  t.test(`${runtime}: --user runs the process as that user (names from the task's rootfs), exec -u too; exec -w a file or a missing directory fails`, { timeout: 90_000 }, async (t) => {
    t.equal((await runTask({ runtime, args: ['sh', '-c', 'id; echo $HOME'], user: 'nobody' })).out, 'uid=65534(nobody) gid=65534(nogroup)\n/\n');
    t.equal((await runTask({ runtime, args: ['id'], user: '1234:5678' })).out, 'uid=1234 gid=5678\n');
    const id = `user-exec-${runtime}`;
    await c.createTask({ id, runtime, args: ['sleep', '1000'], user: 'nobody' });
    t.same((await c.getTask(id)).user, { uid: 65534, gid: 65534 }, 'inspect shows the user');
    const out = async (user?: string): Promise<string> => {
      const chunks: Buffer[] = [];
      const stdout = new Writable({ write(ch: Buffer, _e, cb) { chunks.push(Buffer.from(ch)); cb(); } });
      const h = await c.exec(id, { args: ['id'], stdout, ...(user ? { user } : {}) });
      t.equal((await h.wait()).exitCode, 0);
      return Buffer.concat(chunks).toString();
    };
    t.equal(await out(), 'uid=65534(nobody) gid=65534(nogroup)\n', 'an exec runs as the task\'s user');
    t.equal(await out('root'), 'uid=0(root) gid=0(root)\n', 'exec -u root');
    t.equal(await out('0:nogroup'), 'uid=0(root) gid=65534(nogroup)\n', 'exec -u uid:group');
    await t.rejects(c.exec(id, { args: ['id'], user: 'ghost' }), { code: 'ERR_INVALID_USER', status: 400, message: /unable to find user ghost/ });
    // runsc 2022-12 ran the first in the file (pwd: /etc/passwd); runc, and docker, fail it. Both
    // fail an exec -w that does not exist: docker makes a missing -w for run, not for exec.
    for (const [cwd, why] of [['/etc/passwd', 'not a directory'], ['/etc/passwd/x', 'not a directory'], ['/missing', 'no such file or directory']]) {
      await t.rejects(c.exec(id, { args: ['pwd'], cwd }), { code: 'ERR_INVALID_CWD', status: 400, message: new RegExp(`^working directory ${cwd}: ${why} \\(`) }, `exec -w ${cwd}`);
    }
    t.same(fs.readdirSync(path.join(root, 'tasks', id, 'execs')), [], 'the failed execs left nothing');
    await c.remove(id, { force: true });
  });
}

t.test('runsc: the working directory is cleaned as docker cleans it; one inside a tmpfs is refused, a file on its way named (runc too), the shared rootfs untouched', { timeout: 90_000 }, async (t) => {
  t.equal((await runTask({ runtime: 'runsc', args: ['true'] })).code, 0); // the shared rootfs is made by the first task
  const shared = path.join(root, 'rootfs', 'busybox', 'rootfs');
  const before = treeOf(shared);
  t.same(await runTask({ runtime: 'runsc', cwd: '/missing/../cleaned/', args: ['pwd'] }), { code: 0, out: '/cleaned\n' }, 'a .. through a missing directory');
  const id = 'cwd-exec-runsc';
  await c.createTask({ id, runtime: 'runsc', args: ['sleep', '1000'] });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  const chunks: Buffer[] = [];
  const h = await c.exec(id, { args: ['pwd'], cwd: '/missing/../etc', stdout: new Writable({ write(ch: Buffer, _e, cb) { chunks.push(Buffer.from(ch)); cb(); } }) });
  t.equal((await h.wait()).exitCode, 0);
  t.equal(Buffer.concat(chunks).toString(), '/etc\n', 'an exec\'s too');
  await c.remove(id, { force: true });
  for (const [cwd, mounts] of [['/tmp/x', []], ['/t/deep/er', [{ type: 'tmpfs' as const, target: '/t' }]]] as const) {
    await t.rejects(c.createTask({ runtime: 'runsc', args: ['pwd'], cwd, mounts: [...mounts] }), {
      code: 'ERR_NOT_SUPPORTED', status: 400, message: new RegExp(`working directory ${cwd} lies in the tmpfs at /t`),
    }, cwd);
  }
  // runsc failed these at start naming nothing ('cannot read client sync file: … EOF'); runc names the file.
  const file = path.join(host, 'in.txt');
  const files: Array<[string, Array<{ type: 'bind'; source: string; target: string }>, string]> = [
    ['/etc/passwd', [], '/etc/passwd'], ['/etc/passwd/x', [], '/etc/passwd'], ['/w', [{ type: 'bind', source: file, target: '/w' }], '/w'],
    ['/w/in.txt/deeper', [{ type: 'bind', source: host, target: '/w' }], '/w/in.txt'],
  ];
  for (const [cwd, mounts, what] of files) {
    await t.rejects(c.createTask({ runtime: 'runsc', args: ['pwd'], cwd, mounts }), {
      code: 'ERR_INVALID_CWD', status: 400, message: `working directory ${cwd}: ${what} is not a directory (it is a regular file)`,
    }, `${cwd}: a file on its way`);
  }
  // runc names it itself (taskio's create failed before it ran: Node's `ENOTDIR: … lstat '<the
  // shared rootfs>/etc/passwd/x'`), as ERR_RUNTIME until its words were mapped; at a create and at
  // the start of a created task.
  for (const [i, cwd] of ['/etc/passwd', '/etc/passwd/x'].entries()) {
    const refused = { code: 'ERR_INVALID_CWD', status: 400, message: new RegExp(`^working directory ${cwd}: /etc/passwd is not a directory \\(.*mkdir /etc/passwd: not a directory`) };
    await t.rejects(c.createTask({ runtime: 'runc', args: ['pwd'], cwd }), refused, `runc: ${cwd}`);
    const id = `cwd-runc-${i}`;
    await c.createTask({ id, runtime: 'runc', args: ['pwd'], cwd, start: false });
    t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
    await t.rejects(c.start(id), refused, `runc: ${cwd}, at start`);
    t.equal((await c.getTask(id)).status, 'created', 'the task stays created');
    await c.remove(id, { force: true });
  }
  t.same(treeOf(shared), before, 'nothing was made in the shared rootfs');
  t.same(taskDirs(root), [], 'no task directory is left');
});

t.test('runsc: a bind source removed between create and start is named, the task left created, nothing made', { timeout: 90_000 }, async (t) => {
  const source = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-gone-'));
  t.teardown(() => fs.rmSync(source, { recursive: true, force: true }));
  const id = 'gone-source';
  await c.createTask({ id, runtime: 'runsc', args: ['ls', '/data'], mounts: [{ type: 'bind', source, target: '/data' }], start: false });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  fs.rmdirSync(source);
  // runsc failed here naming nothing: 'cannot read client sync file: waiting for sandbox to start: EOF'.
  await t.rejects(c.start(id), { code: 'ERR_INVALID_MOUNT', status: 400, message: `bind source path ${source} (mounted at /data) does not exist` });
  t.equal((await c.getTask(id)).status, 'created', 'the task stays created');
  t.same(taskLeftovers(root, id, 'runsc').filter((p) => !p.endsWith(`/tasks/${id}`)), [], 'no sandbox state, cgroup or keeper');
  fs.mkdirSync(source);
  await c.start(id);
  t.equal((await c.wait(id)).exitCode, 0, 'it starts once the source is back');
  await c.remove(id);
});

t.test('runsc: a file put in the working directory\'s place after create is named at each start, the task left as it was, nothing made', { timeout: 90_000 }, async (t) => {
  const bundle = await createBusyboxBundle(fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-cwdfile-')), { args: ['true'] });
  t.teardown(() => fs.rmSync(bundle.dir, { recursive: true, force: true }));
  const work = path.join(bundle.rootfs, 'work');
  const fileInPlace = (): void => { fs.rmdirSync(work); fs.writeFileSync(work, 'x\n'); };
  const refused = { code: 'ERR_INVALID_CWD', status: 400, message: 'working directory /work: /work is not a directory (it is a regular file)' };
  fs.mkdirSync(work);
  const id = 'cwd-file-at-start';
  await c.createTask({ id, runtime: 'runsc', rootfs: bundle.rootfs, cwd: '/work', args: ['pwd'], start: false });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  fileInPlace();
  // runsc failed here naming nothing: 'cannot read client sync file: waiting for sandbox to start: EOF'.
  await t.rejects(c.start(id), refused, 'created');
  t.equal((await c.getTask(id)).status, 'created', 'the task stays created');
  t.same(taskLeftovers(root, id, 'runsc').filter((p) => !p.endsWith(`/tasks/${id}`)), [], 'no sandbox state, cgroup or keeper');
  fs.rmSync(work);
  fs.mkdirSync(work);
  await c.start(id);
  t.equal((await c.wait(id)).exitCode, 0, 'it starts once the directory is back');
  fileInPlace();
  await t.rejects(c.start(id), refused, 'exited');
  t.equal((await c.getTask(id)).status, 'exited', 'the task stays exited');
  // Its runtime state went as the start began: rm deleted it again, refused ('cannot delete a deleted container').
  await c.remove(id);
  t.same(taskLeftovers(root, id, 'runsc'), [], 'removed, nothing left');
});

t.test('runc: --read-only makes a writable rootfs read-only; mounts on it stay writable', { timeout: 90_000 }, async (t) => {
  const bundle = await createBusyboxBundle(fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-rofs-')), { args: ['true'] });
  t.teardown(() => fs.rmSync(bundle.dir, { recursive: true, force: true }));
  const script = 'touch /x 2>/dev/null && echo root-rw || echo root-ro; touch /w/x && echo mount-rw';
  const mounts = [{ type: 'tmpfs' as const, target: '/w' }];
  t.equal((await runTask({ runtime: 'runc', rootfs: bundle.rootfs, args: ['sh', '-c', script], mounts })).out, 'root-rw\nmount-rw\n', 'without it');
  t.equal((await runTask({ runtime: 'runc', rootfs: bundle.rootfs, args: ['sh', '-c', script], mounts, readonlyRootfs: true })).out, 'root-ro\nmount-rw\n', 'with it');
});

t.test('host: --user through setpriv, names from the host; mounts and --read-only refused', { timeout: 60_000 }, async (t) => {
  t.equal((await runTask({ runtime: 'host', args: ['id'], user: '1234:5678' })).out, 'uid=1234 gid=5678 groups=5678\n');
  t.match((await runTask({ runtime: 'host', args: ['id', '-un'], user: 'nobody' })).out, /^nobody\n$/);
  await c.createTask({ id: 'host-exec-user', runtime: 'host', args: ['sleep', '1000'] });
  const chunks: Buffer[] = [];
  const h = await c.exec('host-exec-user', { args: ['id', '-u'], user: 'nobody', stdout: new Writable({ write(ch: Buffer, _e, cb) { chunks.push(Buffer.from(ch)); cb(); } }) });
  t.equal((await h.wait()).exitCode, 0);
  t.equal(Buffer.concat(chunks).toString(), '65534\n', 'exec -u on a host task');
  await c.remove('host-exec-user', { force: true });
  await t.rejects(c.createTask({ runtime: 'host', args: ['true'], mounts: [{ type: 'tmpfs', target: '/x' }] }), { code: 'ERR_NOT_SUPPORTED', status: 400, message: /mounts need runtime runsc or runc/ });
  await t.rejects(c.createTask({ runtime: 'host', args: ['true'], readonlyRootfs: true }), { code: 'ERR_NOT_SUPPORTED', message: /read-only rootfs needs runtime runsc or runc/ });
});

t.test('bad mounts and users are refused before anything is made', { timeout: 60_000 }, async (t) => {
  const refused: [unknown, { code: string; message: RegExp }][] = [
    [[{ type: 'bind', source: path.join(host, 'missing'), target: '/m' }], { code: 'ERR_INVALID_MOUNT', message: /mounts\[0\] \(bind at "\/m"\): source .*missing does not exist/ }],
    [[{ type: 'bind', source: 'rel', target: '/m' }], { code: 'ERR_INVALID_FIELD', message: /"mounts\[0\]\.source" must be an absolute path/ }],
    [[{ type: 'tmpfs', target: 'm' }], { code: 'ERR_INVALID_FIELD', message: /"mounts\[0\]\.target" must be an absolute path/ }],
    [[{ type: 'tmpfs', target: '/' }], { code: 'ERR_INVALID_MOUNT', message: /the target cannot be "\/"/ }],
    [[{ type: 'tmpfs', target: '/a' }, { type: 'bind', source: host, target: '/a/' }], { code: 'ERR_INVALID_MOUNT', message: /mounts\[1\].*duplicate mount point \/a/ }],
    [[{ type: 'volume', target: '/a' }], { code: 'ERR_INVALID_MOUNT', message: /unknown type "volume"/ }],
    [[{ type: 'tmpfs', target: '/a', source: host }], { code: 'ERR_INVALID_MOUNT', message: /"source" is an option of bind mounts/ }],
    [[{ type: 'bind', source: host, target: '/a', size: 1 }], { code: 'ERR_INVALID_MOUNT', message: /"size" is an option of tmpfs mounts/ }],
    [[{ type: 'bind', source: host, target: '/a', propagation: 'up' }], { code: 'ERR_INVALID_MOUNT', message: /unknown propagation "up"/ }],
    [[{ type: 'tmpfs', target: '/a', mode: 0o10000 }], { code: 'ERR_INVALID_MOUNT', message: /not a file mode/ }],
    [[{ type: 'tmpfs', target: '/a', color: 'red' }], { code: 'ERR_UNKNOWN_FIELD', message: /unknown field "color" in the mounts\[0\]/ }],
    [{ type: 'tmpfs', target: '/a' }, { code: 'ERR_INVALID_FIELD', message: /field "mounts" must be an array of objects/ }],
  ];
  for (const [mounts, err] of refused) {
    await t.rejects(c.createTask({ runtime: 'runc', args: ['true'], mounts } as never), { ...err, status: 400 }, JSON.stringify(mounts));
  }
  await t.rejects(c.createTask({ id: 'ghost-user', runtime: 'runc', args: ['true'], user: 'ghost' }), { code: 'ERR_INVALID_USER', status: 400, message: /unable to find user ghost/ });
  t.same(taskDirs(root), [], 'no task directory is left');
  t.same(await c.listTasks({ all: true }), [], 'no task');
});

t.test('hostname and labels: the task\'s own, shown by inspect; refused where they cannot be', { timeout: 60_000 }, async (t) => {
  for (const runtime of ['runc', 'runsc'] as const) {
    const id = `named-${runtime}`;
    const r = await runTask({ id, runtime, args: ['hostname'], hostname: 'build-7.ci', labels: { job: '7' } });
    t.equal(r.out, 'build-7.ci\n', `${runtime}: the hostname`);
  }
  await c.createTask({ id: 'labelled', runtime: 'host', args: ['sleep', '1000'], labels: { job: '7', empty: '' } });
  const view = await c.getTask('labelled');
  t.same([view.labels, view.hostname], [{ job: '7', empty: '' }, null], 'a host task has labels, and the host\'s name');
  await c.remove('labelled', { force: true });
  const refused: [Record<string, unknown>, { code: string; message: RegExp }][] = [
    [{ runtime: 'runc', hostname: '-bad' }, { code: 'ERR_INVALID_FIELD', message: /invalid hostname "-bad"/ }],
    [{ runtime: 'runc', hostname: 'x'.repeat(64) }, { code: 'ERR_INVALID_FIELD', message: /invalid hostname/ }],
    [{ runtime: 'host', hostname: 'h' }, { code: 'ERR_NOT_SUPPORTED', message: /a hostname needs runtime runsc or runc/ }],
    [{ runtime: 'host', labels: { 'a=b': 'c' } }, { code: 'ERR_INVALID_FIELD', message: /invalid label key "a=b"/ }],
    [{ runtime: 'host', labels: { a: 1 } }, { code: 'ERR_INVALID_FIELD', message: /label "a" must have a string value/ }],
  ];
  for (const [req, err] of refused) await t.rejects(c.createTask({ args: ['true'], ...req } as never), { ...err, status: 400 }, JSON.stringify(req));
  t.same(taskDirs(root), [], 'nothing left');
});

t.test('--init: tini is pid 1, hands a TERM on to the command (a shell as pid 1 ignores it) and gives its exit code', { timeout: 90_000 }, async (t) => {
  for (const runtime of ['runc', 'runsc'] as const) {
    const id = `init-${runtime}`;
    await c.createTask({ id, runtime, args: ['sh', '-c', 'sleep 1000'], init: true });
    const view = await c.getTask(id);
    t.same([view.init, view.args], [true, ['sh', '-c', 'sleep 1000']], `${runtime}: the command as given`);
    const chunks: Buffer[] = [];
    const h = await c.exec(id, { args: ['cat', '/proc/1/cmdline'], stdout: new Writable({ write(ch: Buffer, _e, cb) { chunks.push(Buffer.from(ch)); cb(); } }) });
    await h.wait();
    t.equal(Buffer.concat(chunks).toString().split('\0')[0], '/sbin/taskio-init', `${runtime}: pid 1 is the init`);
    await c.kill(id, 'TERM');
    t.equal((await c.wait(id)).exitCode, 143, `${runtime}: TERM reached the shell`);
    await c.remove(id);
  }
  t.equal((await runTask({ runtime: 'runc', args: ['sh', '-c', 'exit 7'], init: true })).code, 7, 'the command\'s exit code');
  await t.rejects(c.createTask({ runtime: 'host', args: ['true'], init: true }), { code: 'ERR_NOT_SUPPORTED', message: /--init needs runtime runsc or runc/ });
  await t.rejects(c.createTask({ runtime: 'runc', args: ['true'], init: true, mounts: [{ type: 'tmpfs', target: '/sbin/taskio-init' }] }), { code: 'ERR_INVALID_MOUNT', status: 400 });
  t.same(taskDirs(root), [], 'nothing left');
});
