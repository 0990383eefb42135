import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, Writable } from 'node:stream';
import { testFile } from '../../helpers/common.js';
import { Console, copyConsole, newConsoleSocket } from '../../../src/runtime/console/index.js';

const FAKE_RUNTIME = testFile('runtime/console/fixtures/ptyRuntime.py');

/** Starts the fake runtime: it connects to `socketPath`, sends a pty master, runs `script` on the slave. */
function fakeRuntime(socketPath: string, script: string, mode = ''): { child: ChildProcess; exited: Promise<number | string> } {
  const child = spawn('python3', [FAKE_RUNTIME, socketPath, script, ...(mode ? [mode] : [])], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<number | string>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, sig) => resolve(code ?? `${sig}`));
  });
  return { child, exited };
}

/** Reads a console's output until `re` matches what was read so far. */
function readUntil(c: Console, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (re.test(text)) {
        c.output.off('data', onData);
        c.output.pause();
        resolve(text);
      }
    };
    c.output.on('data', onData);
    c.output.resume(); // a 'data' listener alone does not restart a stream paused on purpose
    c.output.once('error', reject);
    c.output.once('end', () => reject(new Error(`output ended before ${re}: ${JSON.stringify(text)}`)));
  });
}

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

t.test('the pty master arrives, the size set before start is what the process sees, EIO ends output', { timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-console-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = await newConsoleSocket(dir);
  t.teardown(() => sock.close());
  t.ok(fs.statSync(sock.path).isSocket(), 'listening at a socket path');
  t.equal(fs.statSync(path.dirname(sock.path)).mode & 0o777, 0o700, 'in a private directory');
  // The process waits for a line before asking its size, standing in for `runsc start`.
  const rt = fakeRuntime(sock.path, 'read go; stty size; exit 3');
  const con = new Console(await sock.receiveMaster());
  t.teardown(() => con.close());
  con.resize({ cols: 123, rows: 45 });
  t.same(con.size(), { cols: 123, rows: 45 });
  const chunks: Buffer[] = [];
  con.output.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => { con.output.on('end', resolve); con.output.on('error', reject); });
  await con.write('go\n');
  await ended;
  t.match(Buffer.concat(chunks).toString(), /^go\r\n45 123\r\n$/, 'echo, then stty size');
  t.equal(await rt.exited, 3);
  t.notOk(con.closed, 'the master stays open after the end of output');
  con.resize({ cols: 80, rows: 24 });
  t.throws(() => con.resize({ cols: -1, rows: 24 }), { name: 'TaskioError', code: 'ERR_OUT_OF_RANGE', message: /-1x24/ });
  con.close();
  t.ok(con.closed);
  t.throws(() => con.resize({ cols: 1, rows: 1 }), { code: 'ERR_CONSOLE_CLOSED' });
  await t.rejects(con.write('x'), { code: /ERR_CONSOLE_CLOSED|ERR_STREAM_DESTROYED/ });
});

t.test('output the process wrote before it exited is read to the last byte, although libuv reports EOF at the hangup', { timeout: 60_000 }, async (t) => {
  // libuv ends a stream at POLLHUP when its last read was short. A pty master's read returns at most
  // what the line discipline holds (4 KiB) while the rest waits in the pty's buffers: with the slave
  // closed before the Console took the master, libuv said EOF after 4,095 of these 8,011 bytes (in a
  // live task, it lost the last line when the process wrote it just before exiting). 8,000 bytes: a
  // pty takes 11 to 20 KB before its writer blocks, and this process must finish unread.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-console-test-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = await newConsoleSocket(dir);
  t.teardown(() => sock.close());
  const rt = fakeRuntime(sock.path, 'stty raw -echo; head -c 8000 /dev/zero | tr "\\0" x; echo; echo last line');
  const master = await sock.receiveMaster();
  t.equal(await rt.exited, 0, 'the process wrote everything and exited before a byte was read');
  const con = new Console(master);
  t.teardown(() => con.close());
  const chunks: Buffer[] = [];
  con.output.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve, reject) => { con.output.on('end', resolve); con.output.on('error', reject); });
  const text = Buffer.concat(chunks).toString();
  t.equal(text.length, 8000 + '\nlast line\n'.length, `all of it (${text.length} bytes)`);
  t.match(text, /^x{8000}\nlast line\n$/);
});

t.test('copyConsole copies stdin to the terminal and the terminal to stdout', { timeout: 60_000 }, async (t) => {
  const sock = await newConsoleSocket();
  t.teardown(() => sock.close());
  const rt = fakeRuntime(sock.path, 'stty -echo; echo ready; exec cat');
  const con = new Console(await sock.receiveMaster());
  t.teardown(() => con.close());
  await readUntil(con, /ready\r\n/);
  const stdin = new PassThrough();
  const got: Buffer[] = [];
  const stdout = new Writable({ write(c: Buffer, _e, cb) { got.push(c); cb(); } });
  const copy = copyConsole(con, { stdin, stdout });
  stdin.end('hello\nworld\n');
  await copy.input;
  t.notOk(con.closed, 'the end of stdin does not close the terminal');
  await con.write('\x04'); // EOF for cat in canonical mode
  await copy.output;
  t.equal(Buffer.concat(got).toString(), 'hello\r\nworld\r\n');
  t.ok(stdout.writableEnded, 'stdout ended with the output');
  t.equal(await rt.exited, 0);
});

t.test('a large input is written through EAGAIN while the process reads slowly', { timeout: 60_000 }, async (t) => {
  const sock = await newConsoleSocket();
  t.teardown(() => sock.close());
  // Raw mode, no echo: bytes go through untouched; wc counts them once the input is complete.
  const size = 256 * 1024;
  const rt = fakeRuntime(sock.path, `stty raw -echo; echo ready; head -c ${size} | wc -c`);
  const con = new Console(await sock.receiveMaster());
  t.teardown(() => con.close());
  await readUntil(con, /ready/);
  // Far more than the pty's input buffer (4 KiB in canonical mode, a few pages raw): writes hit EAGAIN.
  const text = readUntil(con, new RegExp(`${size}\\s`));
  await con.write(Buffer.alloc(size, 'x'));
  t.match(await text, new RegExp(`${size}`));
  t.equal(await rt.exited, 0);
});

t.test('a runtime that hangs up without an fd is a clear error', { timeout: 60_000 }, async (t) => {
  const sock = await newConsoleSocket();
  t.teardown(() => sock.close());
  const rt = fakeRuntime(sock.path, '', 'nofd');
  await t.rejects(sock.receiveMaster(), { code: 'ERR_CONSOLE_SOCKET', message: /without sending the pty master/ });
  await rt.exited;
});

/** The fds open in this process now. */
function fdSet(): Set<number> {
  return new Set(fs.readdirSync('/proc/self/fd').map(Number));
}

t.test('a runtime that sends two fds, more than fit, or one that is no terminal is refused, and every fd it sent is closed', { timeout: 60_000 }, async (t) => {
  // Warm up: the first spawn and socket make libuv open its own fds for good.
  {
    const sock = await newConsoleSocket();
    const rt = fakeRuntime(sock.path, '', 'nofd');
    await t.rejects(sock.receiveMaster(), { code: 'ERR_CONSOLE_SOCKET' });
    await sock.close();
    await rt.exited;
  }
  const cases = [
    ['twofds', /sent 2 fds over the console socket .*pty\.sock, not one pty master/],
    ['manyfds', /sent more than \d+ fds over the console socket .*pty\.sock, not one pty master/],
    ['notty', /sent an fd that is not a terminal over the console socket .*pty\.sock/],
  ] as const;
  for (const [mode, message] of cases) {
    const before = fdSet();
    const sock = await newConsoleSocket();
    const rt = fakeRuntime(sock.path, '', mode);
    await t.rejects(sock.receiveMaster(), { name: 'TaskioError', code: 'ERR_CONSOLE_SOCKET', message }, mode);
    t.equal(await rt.exited, 0, `${mode}: the runtime sent it`);
    await sock.close();
    await new Promise((r) => setImmediate(r));
    const left = [...fdSet()].filter((fd) => !before.has(fd)).map((fd) => `${fd} → ${fs.readlinkSync(`/proc/self/fd/${fd}`)}`);
    t.same(left, [], `${mode}: no fd left open`);
  }
});

t.test('receiveMaster is cancellable and close() rejects waiters and removes its directory', { timeout: 60_000 }, async (t) => {
  const sock = await newConsoleSocket();
  t.teardown(() => sock.close());
  const ac = new AbortController();
  const waiting = sock.receiveMaster(ac.signal);
  ac.abort();
  await t.rejects(waiting, { name: 'AbortError' });
  const pending = t.rejects(sock.receiveMaster(), { code: 'ERR_CONSOLE_SOCKET_CLOSED' });
  await sock.close();
  await sock.close();
  await pending;
  t.notOk(fs.existsSync(path.dirname(sock.path)), 'socket directory removed');
  await t.rejects(sock.receiveMaster(), { code: 'ERR_CONSOLE_SOCKET_CLOSED' });
});

t.test('no fd is left open after close', { timeout: 60_000 }, async (t) => {
  // Warm up: the first spawn and socket make libuv open its own fds for good.
  {
    const sock = await newConsoleSocket();
    const rt = fakeRuntime(sock.path, 'exit 0');
    const con = new Console(await sock.receiveMaster());
    con.output.resume();
    await new Promise((r) => con.output.on('end', r));
    con.close();
    await sock.close();
    await rt.exited;
  }
  const before = openFds();
  const sock = await newConsoleSocket();
  const rt = fakeRuntime(sock.path, 'echo ready; exec cat');
  const con = new Console(await sock.receiveMaster());
  await readUntil(con, /ready/);
  t.ok(openFds() > before, 'the master is open');
  con.close();
  con.close();
  t.ok(con.closed);
  await sock.close();
  t.equal(await rt.exited, 'SIGHUP', 'closing the master hangs up the terminal');
  await new Promise((r) => setImmediate(r));
  t.equal(openFds(), before, 'back to the fds open before');
});

t.test('an accept error after listen fails the waiting receive and never crashes the host', { timeout: 60_000 }, async (t) => {
  const sock = await newConsoleSocket();
  t.teardown(() => sock.close());
  // libuv reports a failed accept(2) as the server's 'error' (EMFILE is absorbed by its reserve fd,
  // so no real accept failure can be forced here): emit what it would.
  const server = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles()
    .find((h): h is net.Server => h instanceof net.Server && h.address() === sock.path);
  t.ok(server, 'the listening server');
  const waiting = sock.receiveMaster();
  const accept = Object.assign(new Error('accept ENFILE'), { code: 'ENFILE', syscall: 'accept' });
  t.doesNotThrow(() => server!.emit('error', accept), 'the error has a listener');
  await t.rejects(waiting, { code: 'ERR_CONSOLE_SOCKET', message: /failed to accept.*ENFILE/, cause: accept });
  // The socket goes on listening: the next runtime is served.
  const rt = fakeRuntime(sock.path, 'exit 0');
  const con = new Console(await sock.receiveMaster());
  con.close();
  await rt.exited;
});
