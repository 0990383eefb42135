/**
 * The console side of Plumbing: a pty master that comes late (after the console timeout, or while
 * the process is being torn down) is never left open in the task host. The runtime's part — connect
 * to the console socket, send a pty master with SCM_RIGHTS — is played by the same python helper as
 * in test/runtime/console (runc and runsc do exactly that, but cannot be told to do it late).
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Runsc } from '../../../src/runtime/oci/index.js';
import { Plumbing } from '../../../src/runtime/proc/plumbing.js';
import { testFile, until } from '../../helpers/common.js';

const FAKE_RUNTIME = testFile('runtime/console/fixtures/ptyRuntime.py');
const runtime = new Runsc({ command: '/usr/sbin/runc' }); // never called: only its lack of newTerminal matters
const terminalStdio = { terminal: true, stdin: '', stdout: '', stderr: '' };

/** Connects to `socketPath` and sends a pty master, as a runtime does; resolves with its exit code. */
function sendMaster(socketPath: string): Promise<number | null> {
  const child = spawn('python3', [FAKE_RUNTIME, socketPath, 'exit 0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.resume(); // a refused connection prints a traceback
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

/** The pty masters open in this process. */
function ptyMasters(): string[] {
  return fs.readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      return target.endsWith('ptmx') ? [target] : [];
    } catch {
      return [];
    }
  });
}

t.test('console timeout: the socket stops listening at once, a late runtime is refused, no master leaks', { timeout: 60_000 }, async (t) => {
  const p = await Plumbing.open(terminalStdio, runtime, { id: 'late', namespace: 'default' });
  t.teardown(() => p.close());
  const socketPath = p.runtimeOptions().consoleSocket!;
  t.ok(fs.existsSync(socketPath), 'listening');
  await t.rejects(p.attached(20), { code: 'ERR_CONSOLE_SOCKET', message: /no pty master within 20 ms/ });
  t.notOk(fs.existsSync(socketPath), 'the console socket is closed with the timeout');
  t.not(await sendMaster(socketPath), 0, 'a runtime that comes after the timeout cannot connect');
  t.same(ptyMasters(), [], 'no pty master in this process');
  await p.close();
});

t.test('a master received but never taken is closed with the plumbing', { timeout: 60_000 }, async (t) => {
  const p = await Plumbing.open(terminalStdio, runtime, { id: 'untaken', namespace: 'default' });
  t.teardown(() => p.close());
  // The runtime hands over its master and then fails (attached() never runs: a failed create).
  t.equal(await sendMaster(p.runtimeOptions().consoleSocket!), 0);
  await until(() => ptyMasters().length > 0, 10_000, 'the master to arrive');
  await p.close();
  t.same(ptyMasters(), [], 'closed');
});
