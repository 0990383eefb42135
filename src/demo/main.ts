/**
 * `npm run demo`: the main job of taskio as a person meets it — a short scripted session of the real
 * `taskio` command, each command run in a real pty and shown with what it printed: a busybox task
 * printing a line a second is started detached, its logs read, attached to (a few lines, then the
 * detach keys ctrl-p ctrl-q), exec'd into, listed, stopped and removed.
 *
 * The session uses a daemon of its own (state root in a fresh temporary directory, `TASKIO_ROOT`),
 * stopped at the end, so it neither needs nor disturbs a daemon already running on this machine.
 * `TASKIO_DEMO_RUNTIME=host` runs the task on the host backend (no root or runsc needed).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from '../pidAlive.js';
import { removeInside } from '../removeInside.js';
import { TypedCommand, typeCommand } from './session.js';

// A fresh name each run: runsc names a sandbox's control socket after the container id, machine-wide.
const id = `demo-${crypto.randomBytes(2).toString('hex')}`;
const counter = 'i=0; while true; do i=$((i+1)); echo "line $i"; sleep 1; done';

async function main(): Promise<number> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-demo-')); // 0700 by mkdtemp
  const env = { ...process.env, TASKIO_ROOT: root };
  const runtime = process.env.TASKIO_DEMO_RUNTIME;
  const failures: string[] = [];
  let removed = false;
  const expect = (ok: boolean, what: string): void => {
    if (!ok) failures.push(what);
  };
  process.stdout.write(`taskio demo: a session of the taskio command (daemon state root ${root})\n`);
  try {
    // -it: a terminal task, so that an attach can detach with ctrl-p ctrl-q (docker's rule too).
    const run = await typeCommand(['run', '-d', '-it', '--name', id, ...(runtime ? ['--runtime', runtime] : []), '--', 'sh', '-c', counter], env);
    expect(run.code === 0 && run.text.includes(id), 'run -d prints the task id');

    // Follow the log until the task has printed three lines, then ^C, as a person would.
    const follow = new TypedCommand(['logs', '-f', id], env);
    await follow.waitFor('line 3\n');
    follow.type('\x03');
    await follow.exited;

    // Attach: two more lines live, then the detach keys; the task keeps running.
    const attach = new TypedCommand(['attach', id], env);
    const seen = Math.max(...[...follow.text.matchAll(/line (\d+)\n/g)].map((m) => Number(m[1])));
    await attach.waitFor(`line ${seen + 2}\n`);
    attach.type('\x10\x11');
    expect((await attach.exited) === 0, 'attach detaches with ctrl-p ctrl-q and exits 0');

    const exec = await typeCommand(['exec', id, 'sh', '-c', 'echo "hello from inside $(hostname)"; exit 3'], env);
    expect(exec.code === 3 && exec.text.includes('hello from inside'), 'exec prints and returns the exit code 3');

    const ps = await typeCommand(['ps'], env);
    expect(ps.text.includes(id) && /Up /.test(ps.text), 'ps lists the running task');

    const logs = await typeCommand(['logs', '--tail', '2', id], env);
    expect(/line \d+/.test(logs.text), 'logs --tail 2 prints the last lines');

    const stop = await typeCommand(['stop', '-t', '1', id], env);
    expect(stop.code === 0, 'stop stops the task');

    const psAll = await typeCommand(['ps', '-a'], env);
    expect(/Exited \(\d+\)/.test(psAll.text), 'ps -a shows it exited');

    const rm = await typeCommand(['rm', id], env);
    removed = rm.code === 0;
    expect(removed, 'rm removes it');
  } finally {
    // After a failure the task may still run: remove it before the daemon goes (quietly).
    if (!removed) await new TypedCommand(['rm', '-f', id], env).exited;
    await stopDaemon(root);
  }
  process.stdout.write('\n');
  if (failures.length > 0) {
    process.stdout.write(`taskio demo: FAILED: ${failures.join('; ')}\n`);
    return 1;
  }
  process.stdout.write('taskio demo: ok — every command did what it says\n');
  return 0;
}

/** Stops the demo's daemon (SIGTERM, as systemd would) and removes its state root once it is gone. */
async function stopDaemon(root: string): Promise<void> {
  let pid = 0;
  try {
    pid = Number(fs.readFileSync(path.join(root, 'daemon.lock'), 'utf8').trim());
  } catch {
    // No daemon was started.
  }
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGTERM');
      while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
    } catch {
      // Gone already.
    }
  }
  removeInside(os.tmpdir(), root); // made by this run
}

process.exitCode = await main();
