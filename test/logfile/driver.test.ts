import t, { type Test } from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { pipe2 } from '../../src/sys/index.js';
import { followLog, type LogEntry } from '../../src/logfile/followLog.js';
import { parseCriLoggerArgs } from '../../src/logfile/criLogger.js';

// The logger compiled beside this test, from the same sources the test imports.
const loggerSrc = fileURLToPath(new URL('../../src/logfile/criLogger.js', import.meta.url));

function tmpDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-driver-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Started {
  child: ChildProcess;
  /** Write ends of the task's stdout and stderr pipes (the task's side). */
  out: number;
  err: number;
  /** Resolves with the bytes the logger wrote on its ready pipe before closing it. */
  ready: Promise<Buffer>;
}

/**
 * Starts the logger the way the runtime core starts a binary:// logger: real pipes (never
 * socketpairs), stdio [ignore, ignore, inherit, stdout-read, stderr-read, ready-write], and only
 * CONTAINER_ID / CONTAINER_NAMESPACE in the environment.
 */
function startLogger(t: Test, args: string[]): Started {
  const out = pipe2(), err = pipe2(), ready = pipe2();
  const child = spawn(process.execPath, [loggerSrc, ...args], {
    stdio: ['ignore', 'ignore', 'inherit', out.read, err.read, ready.write],
    env: { CONTAINER_ID: 'task-1', CONTAINER_NAMESPACE: 'tests' },
  });
  // The child has its own copies now; ours would keep the pipes open past the logger's exit.
  for (const fd of [out.read, err.read, ready.write]) fs.closeSync(fd);
  const readySock = new net.Socket({ fd: ready.read, readable: true, writable: false });
  const readyBytes = (async () => {
    const chunks: Buffer[] = [];
    for await (const c of readySock) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  })();
  t.teardown(() => {
    readySock.destroy();
    for (const fd of [out.write, err.write]) try { fs.closeSync(fd); } catch { /* closed by the test */ }
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, out: out.write, err: err.write, ready: readyBytes };
}

t.test('the example logger writes CRI entries from fd 3 and fd 4 after signalling ready', { timeout: 60000 }, async (t) => {
  const log = path.join(tmpDir(t), 'logs', 'task.log');
  const l = startLogger(t, ['maxSize', '1MB', 'path', log]);
  const readyBytes = await l.ready;
  t.equal(readyBytes.length, 1, 'one ready byte (binary-v2)');
  fs.writeSync(l.out, 'hello from stdout\npartial ');
  fs.writeSync(l.err, 'oops on stderr\n');
  fs.writeSync(l.out, 'line\nno newline at the end');
  fs.closeSync(l.out);
  fs.closeSync(l.err);
  const [code] = await once(l.child, 'exit');
  t.equal(code, 0);
  const entries: LogEntry[] = [];
  for await (const e of followLog(log, { format: 'cri' })) entries.push(e);
  const byStream = (s: string): string[] => entries.filter((e) => e.stream === s).map((e) => `${e.partial ? 'P' : 'F'} ${e.content}`);
  // A line may come as P entries before its F, and the unfinished last one as P (the writer logs
  // what stayed unfinished while the pipe was quiet, should this process be held off the CPU
  // between two writes): the text, P joined with what follows, is what was written.
  const text = entries.filter((e) => e.stream === 'stdout').map((e) => `${e.content}${e.partial ? '' : '\n'}`).join('');
  t.equal(text.replace(/\n$/, ''), 'hello from stdout\npartial line\nno newline at the end');
  t.equal(byStream('stdout')[0], 'F hello from stdout', 'a line whole in one write is one F entry');
  t.same(byStream('stderr'), ['F oops on stderr']);
});

t.test('a logger that fails before ready closes fd 5 without a byte and exits non-zero', { timeout: 60000 }, async (t) => {
  const log = path.join(tmpDir(t), 'task.log');
  const l = startLogger(t, ['path', log, 'maxSize', 'lots']);
  const readyBytes = await l.ready;
  t.equal(readyBytes.length, 0, 'EOF without a byte: the runtime reports "did not call ready"');
  const [code] = await once(l.child, 'exit');
  t.equal(code, 1);
});

t.test('logger arguments are read like a binary:// query', async (t) => {
  t.same(parseCriLoggerArgs(['maxFiles', '3', 'maxSize', '10MB', 'path', '/var/log/x.log']),
    { path: '/var/log/x.log', format: 'cri', maxFiles: 3, maxSize: 10 * 1024 * 1024 });
  t.same(parseCriLoggerArgs(['--path=/x.log', '--format', 'raw']), { path: '/x.log', format: 'raw' });
  t.throws(() => parseCriLoggerArgs(['maxSize', '1MB']), { code: 'ERR_INVALID_LOG_OPTION', message: /path/ });
  t.throws(() => parseCriLoggerArgs(['path', 'rel.log']), { code: 'ERR_INVALID_LOG_PATH' });
  t.throws(() => parseCriLoggerArgs(['path', '/x.log', 'colour', 'red']), { code: 'ERR_INVALID_LOG_OPTION', message: /colour/ });
});
