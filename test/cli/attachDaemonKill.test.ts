/**
 * `taskio attach` in a real pty when the daemon is SIGKILLed under it. The attach stream carries
 * no exit, so it ended as if the task had exited, and the command then asked for the exit again:
 * its wait, on a kept-alive connection cut before an answer, was sent again, started the next
 * daemon and waited there for a task that runs on — the user's terminal froze, with no message.
 * As docker's attach (whose ContainerWait fails with the daemon), it now says the daemon went
 * away and exits 125, the terminal mode as before; a new attach continues a -t task.
 */
import t, { type Test } from 'tap';
import { daemonPid, daemonRoot } from '../daemon/helpers.js';
import { ptyTaskio, taskio, type PtySession } from './runSession.js';

/** The session's end, or a failure after `ms` (the old code never ended). */
function endOf(s: PtySession, ms: number): Promise<{ before: string; status: number; after: string }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the command did not end within ${ms} ms of the daemon's death; output: ${JSON.stringify(s.output())}`)), ms);
  });
  return Promise.race([s.done, late]).finally(() => clearTimeout(timer));
}

for (const tty of [true, false]) {
  t.test(`attach${tty ? ' to a -t task' : ''}: a daemon SIGKILL ends it with 125 and a message, the terminal restored`, { timeout: 90_000 }, async (t) => {
    const root = daemonRoot(t);
    const script = 'echo ready; while read l; do echo "got $l"; done';
    const flags = tty ? ['-d', '-i', '-t'] : ['-d', '-i'];
    t.equal((await taskio(root, ['run', ...flags, '--name', 'dk', '--runtime', 'host', '--', 'sh', '-c', script])).status, 0);

    const s = ptyTaskio(t, root, ['attach', 'dk'], { cols: 80, rows: 24 });
    await s.started;
    // Attached: a typed line is answered (the task reads what this attach sends).
    s.term.write('one\r');
    await s.waitFor(/got one/);
    const daemon = daemonPid(root);
    t.ok(daemon > 0, 'a daemon runs');
    process.kill(daemon, 'SIGKILL');
    const end = await endOf(s, 20_000);
    t.equal(end.status, 125, 'the command exits 125');
    t.match(s.output(), /taskio attach: the daemon closed the connection before it answered/, 'it says the daemon went away');
    t.equal(end.after, end.before, 'the terminal mode is as before');

    // A -t task runs on (a -i task's stdin ends with the daemon: not asserted here): the next
    // attach, which starts a daemon, continues it.
    if (!tty) return;
    const again = ptyTaskio(t, root, ['attach', 'dk'], { cols: 80, rows: 24 });
    await again.started;
    again.term.write('two\r');
    await again.waitFor(/got two/);
    t.pass('a new attach continues the task');
    again.term.write('\x10\x11'); // ctrl-p ctrl-q
    t.equal((await endOf(again, 20_000)).status, 0, 'detached');
  });
}

/**
 * `taskio run FLAGS… --name dk` on the host in a pty, attached (a typed line answered with -i, else
 * the task's first line), then the daemon SIGKILLed: the command exits 125 with `message`, the
 * terminal mode as before, and the task runs on for the next daemon.
 */
async function runThroughDaemonKill(t: Test, flags: string[], message: RegExp): Promise<void> {
  const root = daemonRoot(t);
  const s = ptyTaskio(t, root, ['run', ...flags, '--name', 'dk', '--runtime', 'host', '--', 'sh', '-c', 'echo ready; while read l; do echo "got $l"; done; sleep 600']);
  await s.started;
  await s.waitFor(/ready/);
  if (flags.includes('-it')) {
    s.term.write('one\r');
    await s.waitFor(/got one/);
  }
  process.kill(daemonPid(root), 'SIGKILL');
  const end = await endOf(s, 20_000);
  t.equal(end.status, 125, 'the command exits 125');
  t.match(s.output(), message, 'it says the daemon went away');
  t.equal(end.after, end.before, 'the terminal mode is as before');
  t.match((await taskio(root, ['ps'])).stdout, /dk .* Up /, 'the task runs on, with the next daemon');
}

// run -it --rm whose daemon died: the wait failed, and the command's --rm cleanup started the next
// daemon to force-remove the task, killing the shell the user was in. It is left to the next
// daemon, which removes it once it exits.
t.test('run -it --rm: a daemon SIGKILL ends the command with 125 and leaves the task running', { timeout: 90_000 }, (t) =>
  runThroughDaemonKill(t, ['-it', '--rm'], /taskio run: the daemon closed the connection before it answered/));

// run without -t: the stream's exit frame never came, and the wait asked then started the next
// daemon and waited there for the task's exit, its output no longer shown: the command hung.
t.test('run (no -t): a daemon SIGKILL ends the command with 125, the task left running', { timeout: 90_000 }, (t) =>
  runThroughDaemonKill(t, [], /taskio run: the daemon went away before task dk exited/));
