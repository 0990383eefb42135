/**
 * A host terminal once closed: what its process still writes is dropped, never pushed into the
 * ended output (an `'error'` there, uncaught, would crash the host), and never holds the process up.
 */
import t from 'tap';
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
  // Registered after the terminal's own listener: once it sees "after", the terminal has had it too.
  const after = new Promise<void>((resolve) => {
    let text = '';
    pty.onData((d) => {
      text += String(d);
      if (text.includes('after')) resolve();
    });
  });
  pty.write('go\n');
  await after;
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
