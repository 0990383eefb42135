/**
 * docker's `--cidfile FILE` on `run` and `create`, end to end against a real daemon (host tasks):
 * the new task's id is written to FILE (relative to the command's working directory); a FILE that
 * is there already refuses the command before anything is made; a create that fails removes the
 * file it made; `rm` leaves it, as docker's does.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonClient } from '../../src/daemon/index.js';
import { CidFile } from '../../src/cli/cidFile.js';
import { mkfifo } from '../../src/sys/index.js';
import { tmpDir } from '../helpers/common.js';
import { client, daemonRoot, taskDirs, treeOf } from '../daemon/helpers.js';
import { spawnTaskio, taskio, type TaskioResult } from './taskioCommand.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

const host = ['--runtime', 'host'];
/** `taskio ARGS…` run in `cwd`. */
const taskioIn = (cwd: string, ...args: string[]): Promise<TaskioResult> => spawnTaskio(root, args, undefined, cwd).result;
const found = (verb: string, file: string) => `taskio ${verb}: task ID file found, make sure the other task isn't running or delete ${file}\n`;

t.test('run (-d, attached, FIFO mode) and create write the new id to the file, relative to the command\'s directory; rm leaves it', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-cidfile-');
  t.teardown(async () => { for (const task of await c.listTasks({ all: true })) await c.remove(task.id, { force: true }).catch(() => undefined); });
  const detached = await taskioIn(dir, 'run', '-d', ...host, '--cidfile', 'detached.cid', '--', 'true');
  t.equal(detached.code, 0);
  const id = detached.stdout.trim();
  t.equal(fs.readFileSync(path.join(dir, 'detached.cid'), 'utf8'), id, 'the generated id, without a newline (docker\'s), in the command\'s directory');
  t.equal(fs.statSync(path.join(dir, 'detached.cid')).mode & 0o777, 0o666 & ~process.umask(), '0666 less the umask, as docker\'s');

  const attached = await taskio(t, root, 'run', '--name', 'cid-attached', ...host, '--cidfile', `${dir}/attached.cid`, '--', 'sh', '-c', 'echo out; exit 3');
  t.same([attached.code, attached.stdout], [3, 'out\n'], 'attached: the task\'s output and code as without the flag');
  t.equal(fs.readFileSync(`${dir}/attached.cid`, 'utf8'), 'cid-attached');
  const fifo = await taskio(t, root, 'run', '--name', 'cid-fifo', ...host, '--log', 'none', '--cidfile', `${dir}/fifo.cid`, '--', 'echo', 'fifo');
  t.same([fifo.code, fifo.stdout], [0, 'fifo\n']);
  t.equal(fs.readFileSync(`${dir}/fifo.cid`, 'utf8'), 'cid-fifo', 'FIFO mode');
  const rm = await taskio(t, root, 'run', '--rm', '--name', 'cid-rm', ...host, '--cidfile', `${dir}/rm.cid`, '--', 'true');
  t.equal(rm.code, 0);
  t.equal(fs.readFileSync(`${dir}/rm.cid`, 'utf8'), 'cid-rm', '--rm: the file stays after the task went, as docker\'s');

  fs.mkdirSync(path.join(dir, 'sub'));
  const created = await taskioIn(dir, 'create', '--name', 'cid-created', ...host, '--cidfile', 'sub/created.cid', '--', 'true');
  t.same([created.code, created.stdout, created.stderr], [0, 'cid-created\n', '']);
  t.equal(fs.readFileSync(path.join(dir, 'sub', 'created.cid'), 'utf8'), 'cid-created', 'create');
  t.equal((await taskio(t, root, 'rm', 'cid-created', 'cid-attached')).code, 0);
  t.ok(fs.existsSync(path.join(dir, 'sub', 'created.cid')) && fs.existsSync(`${dir}/attached.cid`), 'rm leaves the files (docker does)');
});

t.test('a file already there — regular, empty, a dangling symlink, a FIFO, a directory — refuses the command: one line, 125, nothing made, the file as it was', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-cidfile-found-');
  fs.writeFileSync(`${dir}/old`, 'abc');
  fs.writeFileSync(`${dir}/empty`, '');
  fs.symlinkSync(`${dir}/nowhere`, `${dir}/dangling`);
  mkfifo(`${dir}/fifo`); // never opened: a blocking open would hang the command
  fs.mkdirSync(`${dir}/adir`);
  const tasksBefore = taskDirs(root).sort();
  const rootBefore = treeOf(root);
  const dirBefore = treeOf(dir);
  for (const name of ['old', 'empty', 'dangling', 'fifo', 'adir']) {
    for (const verb of ['run', 'create']) {
      const r = await taskio(t, root, verb, ...host, '--cidfile', `${dir}/${name}`, '--', 'sh', '-c', `touch ${dir}/ran`);
      t.same([r.code, r.stderr, r.stdout], [125, found(verb, `${dir}/${name}`), ''], `${verb} ${name}`);
    }
  }
  const relative = await taskioIn(dir, 'run', ...host, '--cidfile', 'old', '--', 'true');
  t.same([relative.code, relative.stderr], [125, found('run', 'old')], 'named as given');
  t.same(taskDirs(root).sort(), tasksBefore, 'no task made');
  t.same(treeOf(root), rootBefore, 'nothing made in the state root');
  t.same(treeOf(dir), dirBefore, 'nothing made beside the files, nothing ran');
  t.equal(fs.readFileSync(`${dir}/old`, 'utf8'), 'abc', 'the file untouched');
  t.notOk(fs.existsSync(`${dir}/nowhere`), 'nothing made through the symlink');
});

t.test('a create that fails removes the file it made; a bad flag or a file that cannot be made leaves none', { timeout: 60_000 }, async (t) => {
  const dir = tmpDir(t, 'taskio-cidfile-failed-');
  await c.createTask({ id: 'cid-taken', runtime: 'host', args: ['true'], start: false });
  t.teardown(() => c.remove('cid-taken', { force: true }).catch(() => undefined));
  const tasksBefore = taskDirs(root).sort();
  const cases: Array<[string[], number, string | RegExp]> = [
    [['run', '--name', 'cid-taken'], 125, 'taskio run: task cid-taken already exists\n'],
    [['create', '--name', 'cid-taken'], 125, 'taskio create: task cid-taken already exists\n'],
    [['run', '-d', '--network', 'none'], 125, 'taskio run: network none needs runtime runsc or runc: a host task has the host\'s network (network host)\n'],
    [['run', '--', '/no/such/command'], 127, /^taskio run: \/no\/such\/command: command not found[^\n]*\n$/],
    [['run', '--network', 'bridge'], 125, /^taskio run: invalid argument "bridge" for "--network" flag: [^\n]*\n$/],
    [['run', '--cidfile', ''], 125, 'taskio run: invalid argument "" for "--cidfile" flag: expected a file path. See \'taskio run --help\'.\n'],
  ];
  for (const [argv, code, line] of cases) {
    const dash = argv.indexOf('--');
    const flags = dash < 0 ? argv : argv.slice(0, dash);
    const command = dash < 0 ? ['--', 'true'] : argv.slice(dash);
    const r = await taskio(t, root, ...flags, ...host, '--cidfile', `${dir}/x.cid`, ...command);
    t.equal(r.code, code, argv.join(' '));
    if (typeof line === 'string') t.equal(r.stderr, line);
    else t.match(r.stderr, line);
    t.same(fs.readdirSync(dir), [], 'no file left');
  }
  const missing = await taskio(t, root, 'run', ...host, '--cidfile', `${dir}/no/x.cid`, '--', 'true');
  t.same([missing.code, missing.stderr], [125, `taskio run: failed to create the task ID file ${dir}/no/x.cid: ENOENT: no such file or directory, open '${dir}/no/x.cid'\n`]);
  t.same(fs.readdirSync(dir), [], 'no directory made for it');
  t.same(taskDirs(root).sort(), tasksBefore, 'no task made');
});

t.test('CidFile: a file that got no id is removed only while it is still the one made (the path replaced meanwhile stays)', async (t) => {
  const dir = tmpDir(t, 'taskio-cidfile-unit-');
  const file = path.join(dir, 'x.cid');
  const kept = CidFile.create(file);
  fs.renameSync(file, path.join(dir, 'moved'));
  fs.writeFileSync(file, 'theirs');
  kept.close();
  t.equal(fs.readFileSync(file, 'utf8'), 'theirs', 'another file at the path: left alone');
  fs.rmSync(file);
  const gone = CidFile.create(file);
  gone.close();
  gone.close();
  t.notOk(fs.existsSync(file), 'its own: removed (closing twice is harmless)');
  const written = CidFile.create(file);
  written.write('abc');
  written.close();
  t.equal(fs.readFileSync(file, 'utf8'), 'abc', 'written: kept');
});
