import t, { type Test } from 'tap';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as pty from 'node-pty';
import { repoRoot } from '../helpers/common.js';

// The helper runs in a real pty between two `stty -g` of its shell: the terminal mode before the
// command and after it, whichever way the command left. The shell then prints an end marker and
// waits: Linux may drop what a pty's last process wrote just before it closed the terminal (a
// loaded run lost the second `stty -g`), so the session is over when the marker arrives, and the
// teardown ends the shell.
const helper = path.join(repoRoot, 'test/cli/fixtures/terminal.mjs');

interface Session {
  term: pty.IPty;
  output(): string;
  /** Resolves with the first match of `re` in the output (waits for it). */
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
  /** The helper's pid, once it is ready. */
  pid: Promise<number>;
  /** Resolves when the shell printed its end marker: the mode before, the helper's status, the mode after. */
  done: Promise<{ before: string; status: number; after: string; raw: string; atexit: string | undefined }>;
}

function session(t: Test, env: Record<string, string> = {}): Session {
  const term = pty.spawn('/bin/sh', ['-c', `stty -g; ${process.execPath} ${helper}; echo "status=$?"; stty -g; echo end-of-session; read x`], {
    cols: 90, rows: 30, env: { ...process.env, ...env } as Record<string, string>,
  });
  let out = '';
  const waiters: Array<() => void> = [];
  term.onData((d) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  let exited = false;
  term.onExit(() => { exited = true; for (const w of waiters.splice(0)) w(); });
  t.teardown(() => { if (!exited) term.kill('SIGKILL'); });
  const waitFor = (re: RegExp): Promise<RegExpMatchArray> => new Promise((resolve, reject) => {
    const check = () => {
      const m = out.match(re);
      if (m) resolve(m);
      else if (exited) reject(new Error(`the session ended without ${re}; output: ${JSON.stringify(out)}`));
      else waiters.push(check);
    };
    check();
  });
  const lines = () => out.split(/\r?\n/);
  return {
    term,
    output: () => out,
    waitFor,
    pid: waitFor(/ready (\d+)/).then((m) => Number(m[1])),
    done: waitFor(/end-of-session/).then(() => {
      const l = lines();
      const status = l.findIndex((x) => x.startsWith('status='));
      const field = (name: string) => out.match(new RegExp(`${name} (\\S+)`))?.[1];
      return { before: l[0]!, status: Number(l[status]!.slice(7)), after: l[status + 1]!, raw: field('raw') ?? '', atexit: field('atexit') };
    }),
  };
}

/**
 * Checks that the helper had the terminal raw and that it was restored: at its last 'exit' listener
 * when it left through `exit` (before Node's own reset at exit could hide a missing restore), and
 * by the shell after it in every case (a signal death has no reset but ours).
 */
async function restored(t: Test, s: Session, status: number, via: 'exit' | 'signal'): Promise<void> {
  const r = await s.done;
  t.equal(r.status, status, `the command exited ${status}`);
  t.match(r.before, /^[0-9a-f:]+$/, 'the mode before is an stty -g line');
  t.not(r.raw, r.before, 'the terminal was raw while the command ran');
  if (via === 'exit') t.equal(r.atexit, r.before, 'the session restored the mode by the time the process exits');
  else t.equal(r.atexit, undefined, 'a signal death runs no exit listener');
  t.equal(r.after, r.before, 'the terminal mode is restored');
}

t.test('raw mode: keys arrive as typed, ctrl-c is a byte not a signal; a normal end restores', { timeout: 60_000 }, async (t) => {
  const s = session(t);
  await s.pid;
  s.term.write('a\x03');
  await s.waitFor(/key 03/);
  t.match(s.output(), /key 61\r?\nkey 03/, 'no line buffering, no SIGINT from ctrl-c');
  s.term.write('n');
  await restored(t, s, 0, 'exit');
});

t.test('the window size at start and on every SIGWINCH', { timeout: 60_000 }, async (t) => {
  const s = session(t);
  await s.waitFor(/size 90x30/);
  await s.pid;
  s.term.resize(100, 40);
  await s.waitFor(/size 100x40/);
  s.term.resize(33, 11);
  await s.waitFor(/size 33x11/);
  s.term.write('n');
  await restored(t, s, 0, 'exit');
});

t.test('detach keys (ctrl-p ctrl-q) through a raw terminal end the command and restore it', { timeout: 60_000 }, async (t) => {
  const s = session(t);
  await s.pid;
  s.term.write('\x10');
  s.term.write('\x11');
  await s.waitFor(/detached/);
  t.notMatch(s.output(), /key 10|key 11/, 'the detach keys were not forwarded');
  await restored(t, s, 0, 'exit');
});

// The ways out through exit: [key the helper acts on, exit status, what it prints, test name].
const exitWays: Array<[string, number, RegExp | undefined, string]> = [
  ['x', 3, undefined, 'process.exit without a restore call: the exit hook restores'],
  ['t', 1, /boom: a thrown error/, 'a thrown error restores (finally) and the command fails'],
  ['u', 1, /boom: uncaught/, 'an uncaught exception restores'],
];
for (const [key, status, said, name] of exitWays) {
  t.test(name, { timeout: 60_000 }, async (t) => {
    const s = session(t);
    await s.pid;
    s.term.write(key);
    await restored(t, s, status, 'exit');
    if (said) t.match(s.output(), said);
  });
}

for (const [signal, n] of [['SIGTERM', 15], ['SIGHUP', 1], ['SIGINT', 2], ['SIGQUIT', 3]] as const) {
  t.test(`${signal} sent to the command restores the terminal, then the command dies of it`, { timeout: 60_000 }, async (t) => {
    const s = session(t);
    const pid = await s.pid;
    process.kill(pid, signal);
    await restored(t, s, 128 + n, 'signal');
  });
}

t.test('NORAW=1 leaves the terminal mode alone, as docker', { timeout: 60_000 }, async (t) => {
  const s = session(t, { NORAW: '1' });
  await s.pid;
  s.term.write('n\n');
  const r = await s.done;
  t.equal(r.status, 0);
  t.equal(r.raw, r.before, 'not raw');
  t.equal(r.after, r.before);
});

t.test('-it without a terminal on stdin: "the input device is not a TTY", 125', { timeout: 60_000 }, async (t) => {
  const r = spawnSync(process.execPath, [helper], { input: 'n', encoding: 'utf8' });
  t.equal(r.status, 125);
  t.equal(r.stdout, 'error ERR_NOT_A_TTY the input device is not a TTY\n');
});
