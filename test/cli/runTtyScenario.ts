/**
 * The `run -it` session of the issue, through the built command in a real pty, for one runtime:
 * the shell in the task sees the pty's size and its resizes, `cat` echoes a typed line, ctrl-p
 * ctrl-q detaches (the task runs on), a second `attach` continues it and `exit 7` is the command's
 * exit code; the terminal mode is the same after each command as before it.
 */
import type { Test } from 'tap';
import crypto from 'node:crypto';
import { daemonRoot, eventually } from '../daemon/helpers.js';
import { daemonClient, ptyTaskio, shellCommand, taskDirs } from './runSession.js';

export async function runTtyScenario(t: Test, runtime: 'host' | 'runsc'): Promise<void> {
  const root = daemonRoot(t);
  const c = daemonClient(t, root);
  const id = `tty-${runtime}-${crypto.randomBytes(3).toString('hex')}`;
  const run = ptyTaskio(t, root, ['run', '-it', '--name', id, '--runtime', runtime, '--', 'sh'], { cols: 90, rows: 30 });
  await run.started;
  // The shell's prompt: the command has the terminal raw and the task reads what is typed.
  await run.waitFor(/# /);
  t.equal(await shellCommand(run, 'stty size', 100), '30 90', 'the task\'s terminal has the pty\'s size');

  run.term.resize(101, 41);
  // The resize reaches the task through SIGWINCH and the daemon: ask until the shell sees it.
  let seen = '';
  await eventually(async () => (seen = await shellCommand(run, 'stty size', 200)) === '41 101', 'the resize in the task', 40_000);
  t.equal(seen, '41 101', 'a resize reaches the task');

  const from = run.output().length;
  run.term.write('cat\r');
  // Typed only once cat runs: busybox's line editor reads ahead, and the terminal's own echo of
  // "cat" can come before the shell took the line, so the echo is no sign that cat reads.
  await run.waitFor(/cat\r*\n/, from);
  // busybox's shell (runsc's rootfs) has that line editor; the host's sh has none and its terminal
  // task's processes are not all listed by top, so there the echo is the sign.
  if (runtime === 'runsc') {
    await eventually(async () => (await c.top(id)).processes.some((p) => /(^|\/)cat( |$)/.test(p[2] ?? '')), 'cat running in the task', 40_000);
  }
  run.term.write('hello-from-the-pty\r');
  // The task's terminal echoes the line, then cat writes it back.
  await run.waitFor(/hello-from-the-pty\r*\n[^]*?hello-from-the-pty/, from);
  t.pass('cat echoed the typed line');
  run.term.write('\x04'); // ctrl-d ends cat
  t.equal(await shellCommand(run, 'echo back', 300), 'back', 'the shell is back after cat');

  run.term.write('\x10\x11'); // ctrl-p ctrl-q
  const detached = await run.done;
  t.equal(detached.status, 0, 'a detach exits 0');
  t.match(detached.before, /^[0-9a-f:]+$/, 'stty -g before');
  t.equal(detached.after, detached.before, 'the terminal mode is restored after the detach');
  t.equal((await c.getTask(id)).status, 'running', 'the task runs on after the detach');

  const again = ptyTaskio(t, root, ['attach', id], { cols: 80, rows: 24 });
  await again.started;
  // The attach posts its own size: the shell sees it once it arrived.
  await eventually(async () => (seen = await shellCommand(again, 'stty size', 400)) === '24 80', 'the size of the second terminal', 40_000);
  t.equal(seen, '24 80', 'a second attach continues the session, with its own size');
  again.term.write('exit 7\r');
  const exited = await again.done;
  t.equal(exited.status, 7, 'exit 7 in the task is the command\'s exit code');
  t.equal(exited.after, exited.before, 'the terminal mode is restored after the exit');
  t.equal((await c.getTask(id)).status, 'exited');
  await c.remove(id);
  t.same(taskDirs(root), []);
}
