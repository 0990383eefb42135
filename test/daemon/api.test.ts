import t, { type Test } from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { DaemonClient } from '../../src/daemon/index.js';
import { mkfifo } from '../../src/sys/index.js';
import { isGone } from '../fixtures/oci.js';
import { client, daemonRoot, eventually, fdsOf, logText, treeOf } from './helpers.js';
import { Collector, tmpDir } from '../helpers/common.js';

// One daemon for the whole file: every bad input must leave it serving.
const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());
const daemon = (await c.version()).pid;
const sock = path.join(root, 'taskio.sock');
const tasksDir = path.join(root, 'tasks');

interface Answer { status: number; body: { code?: string; message?: string } & Record<string, unknown> }

/** One request with any method, path, body and headers, answered as JSON. */
function request(method: string, p: string, body?: string | Buffer, headers: http.OutgoingHttpHeaders = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: p, headers: { ...(body !== undefined ? { 'Content-Length': Buffer.byteLength(body) } : {}), ...headers }, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const post = (p: string, body: unknown) => request('POST', p, JSON.stringify(body), { 'Content-Type': 'application/json' });

/** Nothing left of failed creates: no task directory, no process of this root. */
function checkNothingLeft(t: Test): void {
  t.same(fs.existsSync(tasksDir) ? fs.readdirSync(tasksDir) : [], [], 'no task directory left');
  t.same(fs.readdirSync(path.join(root)).filter((e) => !['daemon.lock', 'daemon.log', 'taskio.sock', 'tasks', 'runtime', 'rootfs', 'fifo'].includes(e)), [], 'nothing else in the root');
}

t.test('unknown route, method, query; bodies that are not JSON, too large, or have unknown fields', { timeout: 60_000 }, async (t) => {
  const cases: Array<[string, Promise<Answer>, number, string, RegExp]> = [
    ['unknown route', request('GET', '/nope'), 404, 'ERR_UNKNOWN_ROUTE', /no route for GET \/nope/],
    ['unknown method', request('PUT', '/tasks'), 405, 'ERR_METHOD_NOT_ALLOWED', /method PUT is not allowed on \/tasks/],
    ['unknown query', request('GET', '/tasks?bogus=1'), 400, 'ERR_UNKNOWN_FIELD', /unknown query parameter "bogus"/],
    ['bad boolean', request('GET', '/tasks?all=yes'), 400, 'ERR_INVALID_FIELD', /all must be 1 or 0, got "yes"/],
    ['not JSON', request('POST', '/tasks', '{"args": [', { 'Content-Type': 'application/json' }), 400, 'ERR_BAD_JSON', /not valid JSON/],
    ['not an object', post('/tasks', [1, 2]), 400, 'ERR_INVALID_BODY', /must be a JSON object, got \[1,2\]/],
    ['unknown field', post('/tasks', { args: ['true'], runtime: 'host', colour: 'red' }), 400, 'ERR_UNKNOWN_FIELD', /unknown field "colour"/],
    ['wrong type', post('/tasks', { args: 'true', runtime: 'host' }), 400, 'ERR_INVALID_FIELD', /field "args" must be an array of strings, got "true"/],
    ['no command', post('/tasks', { runtime: 'host' }), 400, 'ERR_INVALID_FIELD', /missing field "args"/],
    ['unknown runtime', post('/tasks', { args: ['true'], runtime: 'kata' }), 400, 'ERR_INVALID_FIELD', /unknown runtime "kata"/],
    ['relative cwd', post('/tasks', { args: ['true'], runtime: 'host', cwd: 'tmp' }), 400, 'ERR_INVALID_FIELD', /"cwd" must be an absolute path, got "tmp"/],
    ['bad env', post('/tasks', { args: ['true'], runtime: 'host', env: ['NOEQUALS'] }), 400, 'ERR_INVALID_FIELD', /environment entry "NOEQUALS"/],
    ['bad log URI', post('/tasks', { args: ['true'], runtime: 'host', log: 'http://x/y' }), 400, 'ERR_UNKNOWN_STDIO_SCHEME', /unknown stdio scheme "http"/],
    ['bad wait condition', request('POST', '/tasks/nosuch/wait?condition=next-exit'), 400, 'ERR_INVALID_FIELD', /condition must be not-running or removed, got "next-exit"/],
    ['bad autoRemove', post('/tasks', { args: ['true'], runtime: 'host', autoRemove: 'yes' }), 400, 'ERR_INVALID_FIELD', /field "autoRemove" must be [^,]*, got "yes"/],
    ['bad log option', post('/tasks', { args: ['true'], runtime: 'host', log: 'file:///tmp/x.log?maxSize=huge' }), 400, 'ERR_INVALID_LOG_OPTION', /maxSize="huge"/],
    ['logOptions with a log URI', post('/tasks', { args: ['true'], runtime: 'host', log: 'none', logOptions: { maxSize: 1000 } }), 400, 'ERR_INVALID_FIELD', /field "logOptions" is for the default log: with "log" "none", give the options in its URI/],
    ['logOptions maxFiles alone', post('/tasks', { args: ['true'], runtime: 'host', logOptions: { maxFiles: 3 } }), 400, 'ERR_INVALID_LOG_OPTION', /maxFiles="3": needs maxSize/],
    ['logOptions too many files', post('/tasks', { args: ['true'], runtime: 'host', logOptions: { maxSize: 1000, maxFiles: 1001 } }), 400, 'ERR_INVALID_LOG_OPTION', /maxFiles="1001": at most 1000 files/],
    ['logOptions unknown key', post('/tasks', { args: ['true'], runtime: 'host', logOptions: { maxSize: 1000, format: 'raw' } }), 400, 'ERR_UNKNOWN_FIELD', /unknown field "format" in the logOptions \(known: maxSize, maxFiles\)/],
    ['logOptions bad size', post('/tasks', { args: ['true'], runtime: 'host', logOptions: { maxSize: '10MB' } }), 400, 'ERR_INVALID_FIELD', /field "maxSize" must be a whole number, got "10MB"/],
    ['logOptions zero size', post('/tasks', { args: ['true'], runtime: 'host', logOptions: { maxSize: 0 } }), 400, 'ERR_INVALID_LOG_OPTION', /maxSize="0": expected a positive whole number/],
  ];
  for (const [name, answer, status, code, message] of cases) {
    const a = await answer;
    t.equal(a.status, status, `${name}: status`);
    t.equal(a.body.code, code, `${name}: code`);
    t.match(a.body.message, message, `${name}: message`);
  }
  // The daemon answers as soon as it knows and closes. The client stops sending once it got the
  // answer (Node drops a socket's unread input when a write fails).
  const oversized = (head: string, chunks: Buffer[]): Promise<Answer> => new Promise((resolve, reject) => {
    let got = '';
    const s = net.connect(sock, () => {
      s.write(head);
      const next = (): void => {
        const ch = chunks.shift();
        if (ch && got === '' && !s.destroyed) s.write(ch, next);
      };
      next();
    });
    s.on('data', (d: Buffer) => { got += d.toString(); });
    s.on('error', reject);
    s.on('close', () => {
      const [status, ...rest] = got.split('\r\n');
      resolve({ status: Number(status?.split(' ')[1]), body: JSON.parse(rest.join('\r\n').split('\r\n\r\n')[1] ?? '{}') });
    });
  });
  // Declared too large: refused on the headers alone.
  const big = await oversized(`POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${(1 << 20) + 1}\r\n\r\n`, []);
  t.equal(big.status, 413);
  t.equal(big.body.code, 'ERR_BODY_TOO_LARGE');
  // Streamed without a length, over the cap.
  const chunk = Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 0x20), Buffer.from('\r\n')]);
  const chunked = await oversized('POST /tasks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', Array.from({ length: 20 }, () => chunk));
  t.equal(chunked.status, 413);
  checkNothingLeft(t);
  t.equal((await c.version()).pid, daemon, 'the daemon keeps serving');
});

t.test('Expect: 100-continue: the 100 only for a body the route reads and takes, a refusal without it', { timeout: 30_000 }, async (t) => {
  // As a client that waits for the 100 before its body: sends the head, the body once a 100 came.
  const expecting = (head: string, body: string): Promise<string> => new Promise((resolve, reject) => {
    let got = '';
    const s = net.connect(sock, () => s.write(`${head}Expect: 100-continue\r\nConnection: close\r\n\r\n`));
    s.on('data', (d: Buffer) => {
      const before = got;
      got += d.toString();
      if (!before.includes('100 Continue') && got.includes('100 Continue')) s.write(body);
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
  const status = (text: string): string[] => text.split('\r\n').filter((l) => l.startsWith('HTTP/1.1 '));
  // Node's default sent the 100 first: the client sent its 2 MiB only to be refused.
  const big = await expecting(`POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${2 << 20}\r\n`, '');
  t.same(status(big), ['HTTP/1.1 413 Payload Too Large'], 'too large: a 413 and no 100');
  t.match(big, /"code":"ERR_BODY_TOO_LARGE"/);
  const body = '{"signal":"KILL"}';
  const unknown = await expecting(`POST /tasks/nosuch/resume-all HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n`, body);
  t.same(status(unknown), ['HTTP/1.1 404 Not Found'], 'an unknown route: a 404 and no 100');
  const bogus = '{"signal":"BOGUS"}';
  await c.createTask({ id: 'expecting', runtime: 'host', args: ['sleep', '1000'] });
  t.teardown(() => c.remove('expecting', { force: true }).catch(() => undefined));
  const read = await expecting(`POST /tasks/expecting/kill HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bogus.length}\r\n`, bogus);
  t.same(status(read), ['HTTP/1.1 100 Continue', 'HTTP/1.1 400 Bad Request'], 'a body the route reads: 100, then the answer to it');
  t.match(read, /"code":"ERR_INVALID_SIGNAL"/);
  await c.remove('expecting', { force: true });
  checkNothingLeft(t);
});

t.test('bad ids, an id in use, bad signals, limits, bundles, rootfs, runtimes', { timeout: 90_000 }, async (t) => {
  for (const id of ['../x', 'a/b', '', 'x'.repeat(300), '-flag', '.hidden']) {
    const a = await post('/tasks', { id, args: ['true'], runtime: 'host' });
    t.equal(a.status, 400, `id ${JSON.stringify(id.slice(0, 20))}`);
    t.equal(a.body.code, 'ERR_INVALID_ID');
    t.match(a.body.message, id.length > 80 ? /\(300 characters\)/ : JSON.stringify(id));
  }
  // In a path: a bad id is refused before anything is looked up.
  const dotdot = await request('GET', '/tasks/..%2F..%2Fetc');
  t.equal(dotdot.status, 400);
  t.equal(dotdot.body.code, 'ERR_INVALID_ID');
  t.equal((await request('GET', '/tasks/nosuch')).status, 404);
  t.equal((await request('GET', '/tasks/nosuch')).body.code, 'ERR_NOT_FOUND');

  await c.createTask({ id: 'used', runtime: 'host', args: ['sleep', '1000'] });
  const again = await post('/tasks', { id: 'used', args: ['true'], runtime: 'host' });
  t.equal(again.status, 409);
  t.equal(again.body.code, 'ERR_ALREADY_EXISTS');
  t.match(again.body.message, 'task used already exists');
  for (const signal of ['SIGNOPE', 0, 99, -1]) {
    const k = await post('/tasks/used/kill', { signal });
    t.equal(k.status, 400, `signal ${signal}`);
    t.equal(k.body.code, 'ERR_INVALID_SIGNAL');
    t.match(k.body.message, String(signal));
  }
  // exec: FIFOs the client made, nothing else; a good exec id.
  const notFifo = await post('/tasks/used/exec', { args: ['true'], stdout: '/etc/passwd' });
  t.equal(notFifo.status, 400);
  t.equal(notFifo.body.code, 'ERR_NOT_FIFO');
  t.match(notFifo.body.message, '/etc/passwd');
  const missingFifo = await post('/tasks/used/exec', { args: ['true'], stdout: path.join(root, 'nope') });
  t.equal(missingFifo.body.code, 'ERR_NOT_FIFO');
  const ttyErr = await post('/tasks/used/exec', { args: ['true'], terminal: true, stderr: '/tmp/x' });
  t.equal(ttyErr.body.code, 'ERR_INVALID_FIELD');
  const badExecId = await post('/tasks/used/exec', { id: '../e', args: ['true'] });
  t.equal(badExecId.body.code, 'ERR_INVALID_ID');
  t.match(badExecId.body.message, 'invalid exec id "../e"');
  t.equal((await post('/tasks/used/exec/nosuch/wait', {})).status, 404);
  t.equal((await post('/tasks/used/resize', { cols: 0, rows: 10 })).body.code, 'ERR_INVALID_FIELD');
  const del = await request('DELETE', '/tasks/used');
  t.equal(del.status, 409, 'a running task is not removed without force');
  t.match(del.body.message, 'cannot delete a running task');
  await c.remove('used', { force: true });

  const limits: Array<[unknown, RegExp]> = [
    [{ memory: 1 }, /memory=1: expected bytes, at least 6 MiB/],
    [{ cpus: 0 }, /cpus=0/], [{ cpus: 1000 }, /cpus=1000/], [{ pids: 0 }, /pids=0/], [{ memory: 'lots' }, /"memory" must be a whole number/],
    [{ swap: 1 }, /unknown field "swap" in the limits/],
  ];
  for (const [l, message] of limits) {
    const a = await post('/tasks', { args: ['true'], runtime: 'host', limits: l });
    t.equal(a.status, 400, `limits ${JSON.stringify(l)}`);
    t.match(a.body.message, message);
  }
  const hostPids = await post('/tasks', { args: ['true'], runtime: 'host', limits: { pids: 10 } });
  t.equal(hostPids.body.code, 'ERR_NOT_SUPPORTED');
  const noBundle = await post('/tasks', { bundle: '/nonexistent/bundle', runtime: 'runc' });
  t.equal(noBundle.status, 400);
  t.equal(noBundle.body.code, 'ERR_INVALID_BUNDLE');
  t.match(noBundle.body.message, '/nonexistent/bundle');
  // A config.json that is a FIFO (nothing ever writes it) or a symlink: refused at once, never waited on.
  // Bundles a client names lie outside the daemon's root (one inside is refused as such).
  const planted = path.join(tmpDir(t, 'taskio-api-bundles-'), 'plantedbundle');
  fs.mkdirSync(planted);
  t.teardown(() => fs.rmSync(planted, { recursive: true, force: true }));
  mkfifo(path.join(planted, 'config.json'));
  const fifoSpec = await post('/tasks', { bundle: planted, runtime: 'runc' });
  t.equal(fifoSpec.status, 400);
  t.equal(fifoSpec.body.code, 'ERR_INVALID_BUNDLE');
  t.match(fifoSpec.body.message, `bundle ${planted} has a config.json that is not a regular file`);
  fs.rmSync(path.join(planted, 'config.json'));
  fs.writeFileSync(path.join(planted, 'real.json'), '{}');
  fs.symlinkSync('real.json', path.join(planted, 'config.json'));
  const linkSpec = await post('/tasks', { bundle: planted, runtime: 'runc' });
  t.equal(linkSpec.body.code, 'ERR_INVALID_BUNDLE');
  t.match(linkSpec.body.message, `bundle ${planted} has a config.json that is a symlink`);
  // A log path that holds a FIFO (nothing reads it) or a directory: refused before anything is made.
  const fifoLog = path.join(planted, 'task.log');
  mkfifo(fifoLog);
  const fifoLogAnswer = await post('/tasks', { args: ['true'], runtime: 'host', log: `file://${fifoLog}?format=raw` });
  t.equal(fifoLogAnswer.status, 400);
  t.equal(fifoLogAnswer.body.code, 'ERR_INVALID_LOG_PATH');
  t.match(fifoLogAnswer.body.message, `log file ${JSON.stringify(fifoLog)} is not a regular file (it is a FIFO)`);
  const dirLog = await post('/tasks', { args: ['true'], runtime: 'host', log: `file://${planted}?format=cri` });
  t.equal(dirLog.body.code, 'ERR_INVALID_LOG_PATH');
  t.match(dirLog.body.message, 'is not a regular file (it is a directory)');
  fs.rmSync(planted, { recursive: true, force: true });
  const noRootfs = await post('/tasks', { rootfs: '/nonexistent/rootfs', args: ['true'], runtime: 'runc' });
  t.equal(noRootfs.body.code, 'ERR_INVALID_ROOTFS');
  t.match(noRootfs.body.message, '/nonexistent/rootfs');
  const missingCmd = await post('/tasks', { args: ['/no/such/command'], runtime: 'host' });
  t.equal(missingCmd.status, 400);
  t.equal(missingCmd.body.code, 'ERR_COMMAND_NOT_FOUND');
  t.match(missingCmd.body.message, '/no/such/command');
  // A create that fails once its log was made: the log file and the directories made for it go
  // again; a log file that was there before stays, as does the directory it was in.
  const logs = tmpDir(t, 'taskio-api-faillog-');
  const madeLog = await post('/tasks', { args: ['/no/such/command'], runtime: 'host', log: `file://${logs}/new/deeper/task.log?format=cri` });
  t.equal(madeLog.body.code, 'ERR_COMMAND_NOT_FOUND');
  fs.writeFileSync(path.join(logs, 'kept.log'), '');
  const keptLog = await post('/tasks', { args: ['/no/such/command'], runtime: 'host', log: `file://${logs}/kept.log` });
  t.equal(keptLog.body.code, 'ERR_COMMAND_NOT_FOUND');
  t.same(fs.readdirSync(logs), ['kept.log'], 'the log and the directories made for it are gone; the one there before stays');
  // A runtime that fails: runc given a bundle whose rootfs does not exist.
  const bad = path.join(tmpDir(t, 'taskio-api-bundles-'), 'badbundle');
  fs.mkdirSync(bad);
  fs.writeFileSync(path.join(bad, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { args: ['true'], cwd: '/' }, root: { path: '/nonexistent-rootfs' } }));
  t.teardown(() => fs.rmSync(bad, { recursive: true, force: true }));
  const failing = await post('/tasks', { id: 'failing', bundle: bad, runtime: 'runc' });
  t.equal(failing.status, 500);
  t.equal(failing.body.code, 'ERR_RUNTIME');
  t.match(failing.body.message, /runc run/, "names the runtime call that failed (create and start in one: run --detach)");
  t.same(JSON.parse(spawnSync('runc', ['--root', path.join(root, 'runtime/runc'), 'list', '--format', 'json'], { encoding: 'utf8' }).stdout) ?? [], [], 'runc has no state left');
  fs.rmSync(bad, { recursive: true, force: true });
  checkNothingLeft(t);
  t.equal((await c.version()).pid, daemon, 'the daemon keeps serving');
});

t.test('an exec the daemon refuses (no such task, an exited one, no command) leaves the root as it was', { timeout: 60_000 }, async (t) => {
  await c.createTask({ id: 'exec-done', runtime: 'host', args: ['true'] });
  t.teardown(() => c.remove('exec-done', { force: true }).catch(() => undefined));
  await c.wait('exec-done');
  const before = treeOf(root);
  const fdsBefore = fdsOf(daemon).length;
  const posted = await post('/tasks/nosuch/exec', { args: ['true'] });
  t.same([posted.status, posted.body.code], [404, 'ERR_NOT_FOUND'], 'POST …/exec of a missing task');
  // The client makes the FIFO set an exec needs: it must not make it, or anything, for a refusal.
  const out = new Collector(), err = new Collector();
  await t.rejects(c.exec('nosuch', { args: ['true'], stdout: out, stderr: err }), { code: 'ERR_NOT_FOUND', status: 404, message: 'no such task: nosuch' }, 'the client: no such task');
  await t.rejects(c.exec('exec-done', { args: ['true'], stdout: out, stderr: err }), { code: 'ERR_INVALID_STATE', status: 409, message: 'task exec-done is not running' }, 'the client: an exited task');
  await t.rejects(c.exec('exec-done', { args: [], stdout: out }), { code: 'ERR_INVALID_FIELD', status: 400 }, 'the client: no command');
  t.same(treeOf(root), before, 'nothing made or removed under the root');
  t.same(fdsOf(process.pid).filter((l) => l.startsWith(root)), [], 'no fd of the client into the root');
  t.ok(fdsOf(daemon).length <= fdsBefore, `no fd of the daemon leaked (${fdsOf(daemon).length} vs ${fdsBefore})`);
});

t.test('resize: a task or an exec without a terminal is refused (409, naming it); one with a terminal is resized', { timeout: 60_000 }, async (t) => {
  await c.createTask({ id: 'no-tty', runtime: 'host', args: ['sleep', '1000'] });
  t.teardown(() => c.remove('no-tty', { force: true }).catch(() => undefined));
  const task = await post('/tasks/no-tty/resize', { cols: 80, rows: 24 });
  t.same([task.status, task.body.code], [409, 'ERR_INVALID_STATE'], 'a task without a terminal');
  t.match(task.body.message, 'task no-tty has no terminal to resize');
  const plain = await c.exec('no-tty', { id: 'plain', args: ['sleep', '1000'] });
  await t.rejects(plain.resize({ cols: 80, rows: 24 }), { code: 'ERR_INVALID_STATE', status: 409, message: 'exec plain of task no-tty has no terminal to resize' }, 'an exec without a terminal');
  // The size is checked first, as for the task: a bad one is a 400 whatever the exec.
  const bad = await post('/tasks/no-tty/exec/plain/resize', { cols: 0, rows: 24 });
  t.same([bad.status, bad.body.code], [400, 'ERR_INVALID_FIELD'], 'a bad size');
  const tty = await c.exec('no-tty', { id: 'tty', args: ['sleep', '1000'], terminal: true });
  await tty.resize({ cols: 100, rows: 30 });
  t.pass('an exec with a terminal is resized');
  for (const e of [plain, tty]) await e.kill();
});

t.test('logs: since and until are checked, named, and need a CRI log, as timestamps do (raw logs carry no times)', { timeout: 60_000 }, async (t) => {
  // A log a client names lies outside the daemon's root (the root is the daemon's alone).
  const rawLog = path.join(tmpDir(t, 'taskio-api-log-'), 'raw-times.log');
  await c.createTask({ id: 'times-raw', runtime: 'host', args: ['true'], log: `file://${rawLog}?format=raw` });
  await c.createTask({ id: 'times-cri', runtime: 'host', args: ['true'] });
  t.teardown(async () => {
    for (const id of ['times-raw', 'times-cri']) await c.remove(id, { force: true }).catch(() => undefined);
    fs.rmSync(rawLog, { force: true });
  });
  const cases: Array<[string, number, string, RegExp]> = [
    ['/tasks/times-raw/logs?until=1700000000', 400, 'ERR_INVALID_FIELD', /task times-raw has a raw log: until needs format=cri/],
    ['/tasks/times-raw/logs?since=1700000000', 400, 'ERR_INVALID_FIELD', /task times-raw has a raw log: since needs format=cri/],
    ['/tasks/times-raw/logs?timestamps=1', 400, 'ERR_INVALID_FIELD', /task times-raw has a raw log: timestamps needs format=cri/],
    ['/tasks/times-cri/logs?until=soon', 400, 'ERR_INVALID_FIELD', /query parameter until must be an RFC 3339 time or Unix seconds, got "soon"/],
    ['/tasks/times-cri/logs?until=', 400, 'ERR_INVALID_FIELD', /query parameter until must be/],
    // Forms Date's own parser took: a year and month, a month name, a day that does not exist.
    ['/tasks/times-cri/logs?since=2020-01', 400, 'ERR_INVALID_FIELD', /query parameter since must be an RFC 3339 time or Unix seconds, got "2020-01"/],
    ['/tasks/times-cri/logs?since=March%207', 400, 'ERR_INVALID_FIELD', /got "March 7"/],
    ['/tasks/times-cri/logs?until=2026-02-30T00:00:00Z', 400, 'ERR_INVALID_FIELD', /got "2026-02-30T00:00:00Z"/],
    ['/events?since=2020-01', 400, 'ERR_INVALID_FIELD', /query parameter since must be an RFC 3339 time or Unix seconds, got "2020-01"/],
    ['/tasks/times-cri/logs?tail=ten', 400, 'ERR_INVALID_FIELD', /query parameter tail must be a number of lines or all, got "ten"/],
    ['/tasks/times-cri/logs?tail=1.5', 400, 'ERR_INVALID_FIELD', /got "1.5"/],
  ];
  for (const [p, status, code, message] of cases) {
    const a = await request('GET', p);
    t.same([a.status, a.body.code], [status, code], p);
    t.match(a.body.message, message, p);
  }
  await c.wait('times-cri');
  const ok = await request('GET', `/tasks/times-cri/logs?until=${encodeURIComponent(new Date().toISOString())}`);
  t.equal(ok.status, 200, 'a good until');
  // docker's API takes tail=all (its default) and reads a negative count as all.
  for (const tail of ['all', '-1', '0', '3']) t.equal((await request('GET', `/tasks/times-cri/logs?tail=${tail}`)).status, 200, `tail=${tail}`);
  for (const until of ['1700000000.5', '2023-11-14 22:13:20.123456789+01:00', '2023-11-14t22:13:20z']) {
    t.equal((await request('GET', `/tasks/times-cri/logs?until=${encodeURIComponent(until)}`)).status, 200, `until=${until}`);
    t.equal((await request('GET', `/events?until=${encodeURIComponent(until)}`)).status, 200, `events until=${until} (docker's CLI sends Unix seconds)`);
  }
});

t.test('logs of a task whose log file was removed under it: an error naming the file, not an empty log', { timeout: 60_000 }, async (t) => {
  const id = 'unlogged';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'echo ready; exec sleep 1000'] });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  await eventually(async () => (await logText(c, id)) === 'ready\n', 'the task wrote its line');
  const log = path.join(tasksDir, id, `${id}.log`);
  fs.rmSync(log);
  // It printed nothing and succeeded: the daemon writes on into a file no reader can open.
  const removed = { code: 'ERR_NO_LOG', status: 409, message: `task ${id}'s log file ${log} was removed: what the task wrote to it can no longer be read` };
  await t.rejects(logText(c, id), removed, 'running');
  await t.rejects(c.logs(id, { stdout: null }, { follow: true }), removed, 'running, followed');
  await c.kill(id, 'KILL');
  await c.wait(id);
  await t.rejects(logText(c, id), removed, 'exited');
  await c.remove(id);
  checkNothingLeft(t);
});

t.test('logs of a task whose log file was renamed outside taskio (logrotate dateext, no copytruncate): an error naming both files, not an empty log', { timeout: 60_000 }, async (t) => {
  const id = 'renamed-log';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'echo ready; exec sleep 1000'] });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  await eventually(async () => (await logText(c, id)) === 'ready\n', 'the task wrote its line');
  const log = path.join(tasksDir, id, `${id}.log`), moved = `${log}-20261206`;
  fs.renameSync(log, moved);
  // It printed nothing and succeeded: the daemon writes on into the renamed file, logs reads the path.
  const refused = { code: 'ERR_NO_LOG', status: 409, message: `task ${id}'s log file ${log} was renamed to ${moved} outside taskio: the task's output goes on into that file, which logs does not read (rotate the log with --log-opt max-size, or logrotate's copytruncate)` };
  await t.rejects(logText(c, id), refused, 'renamed');
  fs.writeFileSync(log, ''); // logrotate's `create`
  await t.rejects(logText(c, id), refused, 'an empty file made in its place');
  await t.rejects(c.logs(id, { stdout: null }, { follow: true }), refused, 'followed');
  await c.remove(id, { force: true });
  checkNothingLeft(t);
});

t.test('logs of a task whose log rotates (one file: unlinked, made again; two: renamed) are never taken for a removed or renamed log', { timeout: 60_000 }, async (t) => {
  // A flood: the log rotates faster than a logs call reads it. Each call also has to end (a call
  // that fell more than the set behind the renames once read on for as long as the task wrote).
  const script = 'while :; do echo 0123456789012345678901234567890123456789; done';
  for (const maxFiles of [1, 2]) {
    const id = `rotating-${maxFiles}`;
    await c.createTask({ id, runtime: 'host', args: ['sh', '-c', script], logOptions: { maxSize: 4096, maxFiles } });
    t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
    let refused = 0;
    for (let i = 0; i < 300; i++) await logText(c, id).catch(() => { refused++; });
    t.equal(refused, 0, `max-file=${maxFiles}: no logs call refused in the middle of a rotation`);
    await c.remove(id, { force: true });
  }
  checkNothingLeft(t);
});

t.test('a client that disconnects mid-request or mid-stream', { timeout: 60_000 }, async (t) => {
  const fdsBefore = fdsOf(daemon).length;
  // Half a body, then gone.
  await new Promise<void>((resolve) => {
    const s = net.connect(sock, () => {
      s.write('POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"args": ["tr');
      setImmediate(() => { s.destroy(); resolve(); });
    });
  });
  // A long poll and a followed log, then gone.
  await c.createTask({ id: 'streamer', runtime: 'host', args: ['sh', '-c', 'while :; do echo tick; sleep 0.05; done'] });
  const ac = new AbortController();
  const wait = c.wait('streamer', { signal: ac.signal });
  let got = 0;
  const follow = c.logs('streamer', { stdout: new (await import('node:stream')).Writable({ write(ch, _e, cb) { got += ch.length; cb(); } }) }, { follow: true, signal: ac.signal });
  await eventually(() => got > 20, 'followed output');
  ac.abort();
  await t.rejects(wait, { name: 'AbortError' });
  await follow.catch(() => undefined);
  const evAbort = new AbortController();
  const events = await c.events({ signal: evAbort.signal });
  evAbort.abort();
  for await (const _ of events) break;
  await c.remove('streamer', { force: true });
  t.equal((await c.version()).pid, daemon, 'the daemon keeps serving');
  await eventually(() => fdsOf(daemon).length <= fdsBefore, `the daemon's fds back to ${fdsBefore}`, 10_000).catch(() => undefined);
  t.ok(fdsOf(daemon).length <= fdsBefore + 1, `no fd leaked (${fdsOf(daemon).length} vs ${fdsBefore})`);
  checkNothingLeft(t);
});

t.test('50 concurrent creates on the host backend succeed; 2 with one id: one 409', { timeout: 120_000 }, async (t) => {
  const created = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => c.createTask({ id: `many-${i}`, runtime: 'host', args: ['sleep', '1000'] })));
  t.same(created.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)), [], 'all 50 started');
  t.equal((await c.listTasks()).length, 50);
  const [a, b] = await Promise.allSettled([
    c.createTask({ id: 'twice', runtime: 'host', args: ['sleep', '1000'] }),
    c.createTask({ id: 'twice', runtime: 'host', args: ['sleep', '1000'] }),
  ]);
  const statuses = [a, b].map((r) => (r.status === 'fulfilled' ? 201 : (r.reason as { status: number }).status)).sort();
  t.same(statuses, [201, 409]);
  const pids = (await c.listTasks()).map((x) => x.pid);
  await Promise.all((await c.listTasks()).map((x) => c.remove(x.id, { force: true })));
  await eventually(() => pids.every(isGone), 'every task process gone');
  checkNothingLeft(t);
});

/** Sends `bytes` on a raw connection, then `end` (half-close) or nothing, and reads the answer: status and JSON body. */
function raw(bytes: string, end = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let got = '';
    const s = net.connect(sock, () => {
      s.write(bytes);
      if (end) s.end();
    });
    s.on('data', (d: Buffer) => { got += d.toString(); });
    s.on('error', reject);
    s.on('close', () => {
      const [line = '', rest = ''] = got.split(/\r\n\r\n/, 2).length === 2 ? [got.split('\r\n')[0], got.slice(got.indexOf('\r\n\r\n') + 4)] : [got, ''];
      resolve({ status: Number(line.split(' ')[1]), body: rest ? JSON.parse(rest) : {} });
    });
  });
}

t.test('hostile requests: bad escapes, deep JSON, parser errors, CONNECT, overflowing timeouts, loggers, logs in the root', { timeout: 60_000 }, async (t) => {
  const lock = fs.readFileSync(path.join(root, 'daemon.lock'), 'utf8');
  const cases: Array<[string, Promise<Answer>, number, string, RegExp]> = [
    ['bad escape', request('GET', '/tasks/%E0%A4%A'), 400, 'ERR_INVALID_ARG_VALUE', /malformed percent-escape in path segment "%E0%A4%A"/],
    ['bad escape, upgrade', raw('POST /tasks/%E0/attach HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n'), 400, 'ERR_INVALID_ARG_VALUE', /"%E0"/],
    ['deep JSON', request('POST', '/tasks', `{"labels":${'['.repeat(5000)}${']'.repeat(5000)}}`), 400, 'ERR_BAD_JSON', /deeper than 32 levels/],
    ['unknown method', raw('FOO /version HTTP/1.1\r\nHost: x\r\n\r\n'), 400, 'HPE_INVALID_METHOD', /could not be read/],
    ['bad length', raw('POST /tasks HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'), 400, 'HPE_INVALID_CONTENT_LENGTH', /could not be read/],
    ['head too large', raw(`GET /version HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, 'HPE_HEADER_OVERFLOW', /could not be read/],
    ['CONNECT', raw('CONNECT taskio:80 HTTP/1.1\r\nHost: taskio:80\r\n\r\n'), 405, 'ERR_METHOD_NOT_ALLOWED', /method CONNECT is not allowed/],
    ['upgrade body cut by a half-close', raw('POST /tasks HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 100\r\n\r\n{"args":', true), 400, 'ERR_CONNECTION_CLOSED', /before it sent the request body/],
    ['stopTimeout past a timer', post('/tasks', { args: ['true'], runtime: 'host', stopTimeout: 3_000_000 }), 400, 'ERR_INVALID_FIELD', /"stopTimeout" must be 0 to 2147483 seconds/],
    ['log on the lock', post('/tasks', { args: ['true'], runtime: 'host', log: `file://${root}/daemon.lock` }), 400, 'ERR_INVALID_LOG_PATH', /lies inside the daemon's state root/],
    ['log in a task directory', post('/tasks', { args: ['true'], runtime: 'host', log: `file://${root}/tasks/ghost/ghost.log` }), 400, 'ERR_INVALID_LOG_PATH', /inside the daemon's state root/],
    ['log with a NUL', post('/tasks', { args: ['true'], runtime: 'host', log: 'file:///var/log/a%00b.log' }), 400, 'ERR_INVALID_ARG_VALUE', /NUL.*a%00b\.log/],
    ['log through a symlink into the root', post('/tasks', { args: ['true'], runtime: 'host', log: `file://${linkToRoot()}/x.log` }), 400, 'ERR_INVALID_LOG_PATH', /inside the daemon's state root/],
    ['missing logger', post('/tasks', { args: ['true'], runtime: 'host', log: 'binary:///nonexistent/logger' }), 400, 'ERR_COMMAND_NOT_FOUND', /logger \/nonexistent\/logger does not exist/],
    ['logger not executable', post('/tasks', { args: ['true'], runtime: 'host', log: 'binary:///etc/passwd' }), 400, 'ERR_COMMAND_NOT_EXECUTABLE', /logger \/etc\/passwd is not executable/],
    ['logger a directory', post('/tasks', { args: ['true'], runtime: 'host', log: 'binary:///tmp' }), 400, 'ERR_COMMAND_NOT_EXECUTABLE', /logger \/tmp is not a regular file/],
  ];
  for (const [name, answer, status, code, message] of cases) {
    const a = await answer;
    t.equal(a.status, status, `${name}: status`);
    t.equal(a.body.code, code, `${name}: code`);
    t.match(a.body.message, message, `${name}: message`);
  }
  t.equal(fs.readFileSync(path.join(root, 'daemon.lock'), 'utf8'), lock, 'the lock file is untouched');
  // A stop longer than a Node timer can wait used to fire at once: the task was KILLed at once.
  await c.createTask({ id: 'patient', runtime: 'host', args: ['sleep', '1000'] });
  const stop = await post('/tasks/patient/stop', { timeout: 3_000_000 });
  t.equal(stop.status, 400);
  t.match(stop.body.message, /"timeout" must be 0 to 2147483 seconds/);
  t.equal((await c.getTask('patient')).status, 'running', 'the task was not stopped');
  await c.remove('patient', { force: true });
  checkNothingLeft(t);
  t.equal((await c.version()).pid, daemon, 'the daemon keeps serving');
});

/** A symlink (removed with the test file) to this test's root, from outside it. */
function linkToRoot(): string {
  const link = `${root}-link`;
  fs.symlinkSync(root, link);
  t.teardown(() => fs.rmSync(link, { force: true }));
  return link;
}

t.test('an events stream with until past a Node timer stays open', { timeout: 30_000 }, async (t) => {
  const ac = new AbortController();
  const events = await c.events({ until: new Date('2100-01-01T00:00:00Z'), signal: ac.signal });
  const it = events[Symbol.asyncIterator]();
  const first = it.next();
  await c.createTask({ id: 'later', runtime: 'host', args: ['true'] });
  const e = await first;
  t.equal(e.done, false, 'an event came: the stream did not end at once');
  ac.abort();
  await it.return(undefined);
  await c.wait('later');
  await c.remove('later');
  checkNothingLeft(t);
});

t.test('a create-and-attach or start -a whose client left before the 101 holds no log open', { timeout: 60_000 }, async (t) => {
  const fdsBefore = fdsOf(daemon).length;
  const upgrade = (p: string, body: string): Promise<void> => new Promise((resolve, reject) => {
    const s = net.connect(sock, () => {
      s.write(`POST ${p} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, () => {
        s.destroy();
        resolve();
      });
    });
    s.on('error', reject);
  });
  await upgrade('/tasks?stdout=1&stderr=1&exit=1', JSON.stringify({ id: 'gone1', runtime: 'host', args: ['sh', '-c', 'echo hi'] }));
  await eventually(async () => (await c.listTasks({ all: true })).some((x) => x.id === 'gone1' && x.status === 'exited'), 'gone1 made and exited');
  await c.createTask({ id: 'gone2', runtime: 'host', args: ['sh', '-c', 'echo hi'], start: false });
  await upgrade('/tasks/gone2/start?stdout=1&stderr=1&exit=1', '');
  await eventually(async () => (await c.getTask('gone2')).status === 'exited', 'gone2 started and exited');
  await c.remove('gone1');
  await c.remove('gone2');
  const held = (): string[] => fdsOf(daemon).filter((l) => l.includes(path.join(root, 'tasks')));
  await eventually(() => held().length === 0, 'no fd into a task directory', 10_000).catch(() => undefined);
  t.same(held(), [], 'no log of a removed task held open');
  await eventually(() => fdsOf(daemon).length <= fdsBefore, `the daemon's fds back to ${fdsBefore}`, 10_000).catch(() => undefined);
  t.ok(fdsOf(daemon).length <= fdsBefore, `no fd leaked (${fdsOf(daemon).length} vs ${fdsBefore})`);
  checkNothingLeft(t);
});

/** One request answered with any body: status, headers and the body's text. */
function plainRequest(method: string, p: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, method, path: p, agent: false }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test("docker's _ping and version prefix; a path that reads as an authority; an upgrade offer to a route that takes none", { timeout: 60_000 }, async (t) => {
  await c.createTask({ id: 'victim', runtime: 'host', args: ['sleep', '1000'] });
  const ping = await plainRequest('GET', '/_ping');
  t.match(ping, { status: 200, text: 'OK', headers: { 'content-type': /^text\/plain/, 'api-version': '1' } }, 'GET /_ping');
  t.match(await plainRequest('HEAD', '/_ping'), { status: 200, text: '', headers: { 'api-version': '1', 'content-length': '0', 'cache-control': 'no-cache, no-store, must-revalidate', pragma: 'no-cache' } }, 'HEAD /_ping, as docker answers it');
  // HEAD on another route is a 405 as in docker (its router takes HEAD on /_ping only), with the Allow header RFC 9110 asks for.
  t.match(await plainRequest('HEAD', '/version'), { status: 405, text: '', headers: { allow: 'GET' } }, 'HEAD /version: 405, Allow: GET');
  t.match(await plainRequest('DELETE', '/tasks'), { status: 405, headers: { allow: 'POST, GET' } }, 'DELETE /tasks: 405, Allow: POST, GET');
  const cases: Array<[string, Promise<Answer>, number, string | undefined, RegExp | undefined]> = [
    ['a version prefix', request('GET', '/v1/version'), 200, undefined, undefined],
    ['a version prefix on a task route', post('/v1.0/tasks/victim/kill', { signal: 'BOGUS' }), 400, 'ERR_INVALID_SIGNAL', /BOGUS/],
    ['a version too new', request('GET', '/v1.41/tasks'), 400, 'ERR_API_VERSION', /client version 1\.41 is too new\. Maximum supported API version is 1/],
    ['a version too old', request('GET', '/v0.9/tasks'), 400, 'ERR_API_VERSION', /client version 0\.9 is too old/],
    // Resolved against a base URL, '//tasks' was the authority 'tasks': the kill of victim was served.
    ['a path that reads as an authority', post('//tasks/tasks/victim/kill', { signal: 'KILL' }), 404, 'ERR_UNKNOWN_ROUTE', /no route for POST \/\/tasks\/tasks\/victim\/kill/],
    ['__proto__ in the query', request('GET', '/tasks?__proto__=1'), 400, 'ERR_UNKNOWN_FIELD', /unknown query parameter "__proto__"/],
    ['constructor in the query', request('GET', '/tasks?constructor=x'), 400, 'ERR_UNKNOWN_FIELD', /unknown query parameter "constructor"/],
  ];
  for (const [name, answer, status, code, message] of cases) {
    const a = await answer;
    t.equal(a.status, status, `${name}: status`);
    t.equal(a.body.code, code, `${name}: code`);
    if (message) t.match(a.body.message, message, `${name}: message`);
  }
  t.equal((await c.getTask('victim')).status, 'running', 'victim was not killed');
  // curl --http2 offers h2c on every request: a route that does not upgrade answers as Go's server does.
  const h2c = 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n';
  const version = await raw(`GET /version HTTP/1.1\r\nHost: x\r\n${h2c}\r\n`);
  t.match(version, { status: 200, body: { apiVersion: 1, pid: daemon } }, 'GET /version with an h2c offer');
  const body = '{"signal":"BOGUS"}';
  const kill = await raw(`POST /tasks/victim/kill HTTP/1.1\r\nHost: x\r\n${h2c}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  t.match(kill, { status: 400, body: { code: 'ERR_INVALID_SIGNAL', message: /BOGUS/ } }, 'POST with a body and an h2c offer: the body read');
  // An answer larger than the connection's buffers: all of it comes (it stopped at the first full buffer).
  await c.createTask({ id: 'loud', runtime: 'host', args: ['sh', '-c', 'head -c 4000000 /dev/zero | tr "\\0" a; echo'] });
  await c.wait('loud');
  const logBytes = await new Promise<number>((resolve, reject) => {
    let got = 0;
    const s = net.connect(sock, () => s.write(`GET /tasks/loud/logs HTTP/1.1\r\nHost: x\r\n${h2c}\r\n`));
    s.on('data', (d: Buffer) => { got += d.length; });
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
  t.ok(logBytes > 4_000_000, `a log of 4 MB with an h2c offer: all of it (${logBytes} bytes)`);
  await c.remove('loud');
  // A long poll so answered whose client leaves: its connection closes (it stayed open, unread).
  const sockets = (): number => fdsOf(daemon).filter((l) => l.startsWith('socket:')).length;
  const before = sockets();
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(sock, () => s.write(`POST /tasks/victim/wait HTTP/1.1\r\nHost: x\r\n${h2c}Content-Length: 0\r\n\r\n`, () => { s.destroy(); resolve(); }));
    s.on('error', reject);
  });
  const wentAway = (): boolean => fs.readFileSync(path.join(root, 'daemon.log'), 'utf8').split('\n').some((l) => l.includes('"url":"/tasks/victim/wait"') && l.includes('the client went away'));
  await eventually(wentAway, 'the wait with an h2c offer aborted when its client left');
  await eventually(() => sockets() <= before, `the daemon's sockets back to ${before}`);
  await c.remove('victim', { force: true });
  checkNothingLeft(t);
  t.equal((await c.version()).pid, daemon, 'the daemon keeps serving');
});

t.test('a wait whose client left is no failure: no 500, no stack in the log', { timeout: 60_000 }, async (t) => {
  await c.createTask({ id: 'waited', runtime: 'host', args: ['sleep', '1000'] });
  const linesOf = (url: string): string[] => fs.readFileSync(path.join(root, 'daemon.log'), 'utf8').split('\n').filter((l) => l.includes(`"url":"${url}"`));
  for (const url of ['/tasks/waited/wait', '/tasks/waited/wait?condition=removed']) {
    // The whole request is sent before the client goes: the daemon reads it, then the end.
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(sock, () => s.write(`POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`, () => { s.destroy(); resolve(); }));
      s.on('error', reject);
    });
    await eventually(() => linesOf(url).length > 0, `the daemon's line for ${url}`);
    const [line = ''] = linesOf(url);
    t.match(line, /"msg":"the client went away"/, `${url}: the client went away`);
    t.notMatch(line, /"level":50|request failed|"stack"/, `${url}: not a failure (it was a 500 'request failed' with a stack)`);
  }
  t.equal((await c.getTask('waited')).status, 'running');
  await c.remove('waited', { force: true });
  checkNothingLeft(t);
});

t.test('a refused request without a body keeps its connection for the next one', { timeout: 30_000 }, async (t) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const sockets = new Set<net.Socket>();
  const ask = (p: string): Promise<{ status: number; connection: string | undefined }> => new Promise((resolve, reject) => {
    const req = http.request({ socketPath: sock, path: p, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
    });
    req.on('socket', (s: net.Socket) => sockets.add(s));
    req.on('error', reject);
    req.end();
  });
  t.match(await ask('/tasks/nosuch'), { status: 404, connection: 'keep-alive' }, 'an unknown task: 404, kept alive');
  t.match(await ask('/nope'), { status: 404, connection: 'keep-alive' }, 'an unknown route: 404, kept alive');
  t.match(await ask('/tasks/a%2Fb'), { status: 400, connection: 'keep-alive' }, 'a bad id: 400, kept alive');
  t.match(await ask('/version'), { status: 200 });
  t.equal(sockets.size, 1, 'one connection carried all four (each refusal closed it)');
});
