import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkKillGap, daemonPid, daemonRoot, endedLines, eventually, fdsOf, waitGone } from '../daemon/helpers.js';
import { ptyTaskio, taskio } from './runSession.js';

/** Stops the daemon on `root` with `signal` and waits until it is gone: its tasks stay, for the next daemon to adopt. */
async function stopDaemon(root: string, signal: NodeJS.Signals): Promise<void> {
  const pid = daemonPid(root);
  process.kill(pid, signal);
  await waitGone(pid);
}

/** The numbers of the `line N` lines in the task's log, in order. */
async function logNumbers(root: string): Promise<number[]> {
  const r = await taskio(root, ['logs', 'tt']);
  return endedLines(r.stdout).flatMap((l) => /^line (\d+)\r?$/.exec(l)?.[1] ?? []).map(Number);
}

/**
 * Waits until the log has a line past `n` (the task writes on), and checks that none is missing or
 * repeated but the lines in `lost`. With `killed` (the daemon was SIGKILLed after the log held `n`
 * lines; no line was lost before), the lines it had read from the terminal and not yet logged may be
 * missing ({@link checkKillGap}); they are added to `lost`. Returns the last line's number.
 */
async function logGoesOnPast(t: Test, root: string, n: number, what: string, lost: number[], killed = false): Promise<number> {
  let nums: number[] = [];
  await eventually(async () => (nums = await logNumbers(root)).some((x) => x > n + 5), `${what}: new lines in the log`, 40_000);
  const last = nums.at(-1) ?? 0;
  // What the two copies held: a read each, of at most what a pipe (1 MiB here) or a pty holds.
  if (killed) lost.push(...checkKillGap(t, what, nums, n, (x) => `line ${x}\r\n`.length, 2 << 20));
  const expected = Array.from({ length: last }, (_, i) => i + 1).filter((x) => !lost.includes(x));
  t.same(nums, expected, `${what}: every line from 1 to ${last}, none lost${lost.length > 0 ? ` but ${JSON.stringify(lost)}` : ''} or repeated`);
  return last;
}

/** The `/dev/ptmx` fds (pty masters) of process `pid`. */
function masters(pid: number): number {
  return fdsOf(pid).filter((target) => /ptmx$/.test(target)).length;
}

// runc and runsc send a terminal task's pty master to the daemon alone, and the host runtime's
// node-pty keeps it in the daemon too: when that daemon died the master closed and the task got
// SIGHUP (ps: `Exited (unknown)`). A console keeper now holds it, and the next daemon takes it back:
// the log goes on, attach and its input and resize work, rm cleans up.
for (const runtime of ['runc', 'runsc', 'host'] as const) {
  t.test(`${runtime}: a -t task keeps running across a daemon SIGKILL and SIGTERM, and its terminal is taken back`, { timeout: 180_000 }, async (t) => {
    const root = daemonRoot(t);
    // A numbered line every 100 ms, and each line typed answered with the terminal's size.
    const script = '(i=0; while :; do i=$((i+1)); echo "line $i"; sleep 0.1; done) & while read l; do echo "got $l $(stty size)"; done';
    t.equal((await taskio(root, ['run', '-d', '-i', '-t', '--name', 'tt', '--runtime', runtime, '--', 'sh', '-c', script])).status, 0);
    const lost: number[] = [];
    let seen = await logGoesOnPast(t, root, 0, 'before any restart', lost);

    await stopDaemon(root, 'SIGKILL');
    seen = await logGoesOnPast(t, root, seen, 'after a SIGKILL', lost, true);
    const ps = await taskio(root, ['ps', '-a']);
    t.match(ps.stdout, /tt .* Up /, 'ps: running');

    // attach -i in a real pty: output, input, the client's size, then its resize.
    const s = ptyTaskio(t, root, ['attach', 'tt'], { cols: 77, rows: 22 });
    await s.waitFor(/line \d+/);
    // Types `<word><n>` until the task answers with terminal size `size` (`rows cols`): attach posts
    // its size once connected, and a resize, without waiting for them; they reach the task later
    // (until then `stty size` tells the size before, or fails on a terminal that had none).
    let n = 0;
    const answersWithSize = (word: string, size: string): Promise<void> => eventually(async () => {
      s.term.write(`${word}${++n}\r`);
      const m = await s.waitFor(new RegExp(`got ${word}${n} ([^\\r\\n]*)\\r`));
      return m[1] === size;
    }, `the task's terminal at ${size}`, 40_000);
    await answersWithSize('hello', '22 77');
    t.match(s.output(), /got hello\d+ 22 77/, 'attach -i: input reaches the task, whose terminal has the client\'s size');
    s.term.resize(100, 40);
    await answersWithSize('again', '40 100');
    t.match(s.output(), /got again\d+ 40 100/, 'resize: the task\'s stty size is the client\'s new one');
    s.term.write('\x10\x11'); // ctrl-p ctrl-q: detach, the task runs on
    t.equal((await s.done).status, 0, 'attach detached');

    await stopDaemon(root, 'SIGTERM');
    seen = await logGoesOnPast(t, root, seen, 'after a SIGTERM', lost);

    // rm -f: no keeper process and no pty master left in the daemon.
    const record = JSON.parse(fs.readFileSync(path.join(root, 'tasks', 'tt', 'task.json'), 'utf8')) as { outputKeeper?: { pid: number } };
    t.ok(record.outputKeeper, 'the record names the output keeper');
    const keeper = record.outputKeeper!.pid;
    const daemon = daemonPid(root);
    t.ok(masters(daemon) > 0, 'the daemon holds the task\'s pty master');
    t.equal((await taskio(root, ['rm', '-f', 'tt'])).status, 0);
    await waitGone(keeper);
    t.notOk(fs.existsSync(`/proc/${keeper}`) && fs.readFileSync(`/proc/${keeper}/cmdline`, 'utf8').includes('taskio-console-keeper'), 'no keeper left');
    await eventually(() => masters(daemon) === 0, 'no pty master left in the daemon');
    t.equal(masters(daemon), 0, 'no pty master left in the daemon');
  });
}

// node-pty forked the host task from the daemon, whose exit handling (node-pty's) died with it: after
// the restart the task's exit is seen through its pidfd, its last line reaches the log, and the
// keeper goes once that output is delivered.
t.test('host: a -t task that exits after a daemon SIGKILL is seen exited, its last output logged, its keeper gone', { timeout: 120_000 }, async (t) => {
  const root = daemonRoot(t);
  const go = path.join(t.testdir(), 'go');
  // Waits for the file the test makes, then says goodbye and exits.
  const script = `echo up; while [ ! -e ${go} ]; do sleep 0.1; done; echo bye; exit 3`;
  t.equal((await taskio(root, ['run', '-d', '-t', '--name', 'tt', '--runtime', 'host', '--', 'sh', '-c', script])).status, 0);
  await eventually(async () => (await taskio(root, ['logs', 'tt'])).stdout.includes('up'), 'the first line in the log', 40_000);
  const record = JSON.parse(fs.readFileSync(path.join(root, 'tasks', 'tt', 'task.json'), 'utf8')) as { outputKeeper?: { pid: number } };
  t.ok(record.outputKeeper, 'the record names the output keeper');
  const keeper = record.outputKeeper!.pid;

  await stopDaemon(root, 'SIGKILL');
  t.match((await taskio(root, ['ps', '-a'])).stdout, /tt .* Up /, 'ps after the restart: running');
  fs.writeFileSync(go, '');
  await eventually(async () => /tt .* Exited /.test((await taskio(root, ['ps', '-a'])).stdout), 'ps: exited', 40_000);
  t.match((await taskio(root, ['logs', 'tt'])).stdout, /up\r?\n(.*\n)*bye/, 'the log has the task\'s last line');
  await waitGone(keeper);
  t.notOk(fs.existsSync(`/proc/${keeper}`) && fs.readFileSync(`/proc/${keeper}/cmdline`, 'utf8').includes('taskio-console-keeper'), 'no keeper left');
  t.equal((await taskio(root, ['rm', 'tt'])).status, 0);
});
