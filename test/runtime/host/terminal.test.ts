/**
 * A host terminal once closed: what its process still writes is dropped, never pushed into the
 * ended output (an `'error'` there, uncaught, would crash the host), and never holds the process up.
 * Its pty master for the daemon's console keeper (`masterFd`): node-pty's, or a typed refusal.
 */
import t from 'tap';
import fs from 'node:fs';
import { setWinSize } from '../../../src/sys/index.js';
import { HostTerminal } from '../../../src/runtime/host/terminal.js';
import { spawn, type IPty } from '../../../src/runtime/host/pty.js';

/** `sh -c script` on a pty, bound to a fresh HostTerminal as HostRuntime binds it. */
function onTerminal(script: string, beforeAttach?: (pty: IPty) => void): { term: HostTerminal; pty: IPty; exited: Promise<number> } {
  const term = new HostTerminal();
  const pty = spawn('sh', ['-c', script], { cols: 80, rows: 24, encoding: null as unknown as string });
  const exited = new Promise<number>((resolve) => pty.onExit((e) => resolve(e.exitCode)));
  beforeAttach?.(pty);
  term.attach(pty);
  return { term, pty, exited };
}

/** Every `'error'` the terminal's output emits (an unheard one would be thrown). */
function errorsOf(term: HostTerminal): Error[] {
  const errors: Error[] = [];
  term.output.on('error', (err) => errors.push(err));
  return errors;
}

t.test('output written after close is dropped without an error on the ended output, which nobody reads', { timeout: 30_000 }, async (t) => {
  const { term, pty, exited } = onTerminal('echo ready; read x; echo after; exit 4');
  t.teardown(() => pty.kill('SIGKILL'));
  const errors = errorsOf(term);
  await new Promise<void>((resolve) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += String(d);
      if (!text.includes('ready')) return;
      // The reader stops, as one that detached does: the output is not read to its end.
      term.output.off('data', onData);
      term.output.pause();
      resolve();
    };
    term.output.on('data', onData);
  });
  term.close();
  pty.write('go\n');
  // Exit 4: the process read the line and wrote "after" past the close. node-pty reports the exit
  // only once its socket closed, so the terminal has had every byte by then — the last ones may come
  // through keepLastOutput's read of the master, which reaches the terminal alone (a listener of the
  // pty's own, as this test once waited on, missed them in about 1 run in 60 under load).
  t.equal(await exited, 4);
  await new Promise((r) => setImmediate(r)); // an error from push() is emitted on the next tick
  t.same(errors.map((e) => (e as { code?: string }).code), [], 'no error on the output');
  t.equal(term.output.errored, null);
});

t.test('a terminal closed while it held its process back for an unread output lets the process finish', { timeout: 30_000 }, async (t) => {
  // 200 KB nobody reads: the output's buffer (64 KiB) fills and the terminal pauses the pty.
  let paused!: () => void;
  const held = new Promise<void>((resolve) => { paused = resolve; });
  const { term, pty, exited } = onTerminal('head -c 200000 /dev/zero | tr "\\\\0" x; exit 4', (p) => {
    const pause = p.pause.bind(p);
    p.pause = (): void => { pause(); paused(); };
  });
  t.teardown(() => pty.kill('SIGKILL'));
  const errors = errorsOf(term);
  await held;
  term.close();
  t.equal(await exited, 4, 'the process wrote the rest and exited');
  await new Promise((r) => setImmediate(r));
  t.same(errors.map((e) => (e as { code?: string }).code), [], 'no error on the output');
});

/** How many pty masters (`/dev/ptmx`) this process holds open. */
function mastersHere(): number {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return /ptmx$/.test(fs.readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      return false; // the fd of the listing itself, gone
    }
  }).length;
}

/** Resolves with what `term`'s output has shown once it includes `text`. */
function outputUntil(term: HostTerminal, text: string): Promise<string> {
  return new Promise((resolve) => {
    let seen = '';
    const onData = (d: Buffer): void => {
      seen += String(d);
      if (!seen.includes(text)) return;
      term.output.off('data', onData);
      resolve(seen);
    };
    term.output.on('data', onData);
  });
}

// The daemon's console keeper inherits this fd: it must be node-pty's master (read from its
// UnixTerminal's `_fd`), so a node-pty upgrade that moves it fails here.
t.test('masterFd: a duplicate of node-pty\'s pty master while the process runs, closed at its exit', { timeout: 30_000 }, async (t) => {
  const before = mastersHere();
  const { term, pty, exited } = onTerminal('read x; stty size; exit 2');
  t.teardown(() => pty.kill('SIGKILL'));
  const fd = term.masterFd();
  t.type(fd, 'number');
  t.not(fd, (pty as unknown as { _fd: number })._fd, 'a duplicate, not node-pty\'s own fd');
  t.match(fs.readlinkSync(`/proc/self/fd/${fd}`), /ptmx$/, 'a pty master');
  // The same terminal: the size set through the duplicate is the one its process reads.
  setWinSize(fd!, { cols: 91, rows: 33 });
  const shown = outputUntil(term, '33 91');
  pty.write('go\n');
  t.match(await shown, /33 91/, 'the process sees the size set through masterFd()');
  t.equal(await exited, 2);
  t.equal(term.masterFd(), null, 'none once the process exited');
  t.equal(mastersHere(), before, 'the duplicate was closed');
  term.close();
});

t.test('masterFd: null before the pty is bound and after close; the duplicate closed', { timeout: 30_000 }, async (t) => {
  const unbound = new HostTerminal();
  t.equal(unbound.masterFd(), null, 'before the process is spawned');
  const before = mastersHere();
  const { term, pty } = onTerminal('read x');
  t.teardown(() => pty.kill('SIGKILL'));
  t.type(term.masterFd(), 'number');
  term.close();
  t.equal(term.masterFd(), null, 'after close');
  t.equal(mastersHere(), before + 1, 'only node-pty\'s own master is left (its process runs on)');
});

// A real node-pty whose `_fd` was removed before binding: it stands for a build that renamed it.
// Without `_fd` keepLastOutput cannot read the master's last bytes at the exit (node-pty may drop
// them), so the process waits for a second line before it exits: its output comes before that.
t.test('masterFd of a node-pty that keeps its master elsewhere (_fd removed): ERR_NOT_SUPPORTED, the terminal still works', { timeout: 30_000 }, async (t) => {
  const { term, pty, exited } = onTerminal('read x; echo "got $x"; read y; exit 5', (p) => {
    Object.defineProperty(p, '_fd', { value: undefined, configurable: true });
  });
  t.teardown(() => pty.kill('SIGKILL'));
  t.throws(() => term.masterFd(), { code: 'ERR_NOT_SUPPORTED', message: /_fd is undefined/ });
  const got = outputUntil(term, 'got hi');
  term.input.write('hi\n');
  t.match(await got, /got hi/, 'input and output work as before');
  term.input.write('bye\n');
  t.equal(await exited, 5);
  t.equal(term.masterFd(), null, 'none once the process exited');
  term.close();
});
