/**
 * The daemon's live readers of a log it writes — `logs -f`, `attach`, an attached `run` — against a
 * task that makes the log rotate far faster than they read it (`seq` into `max-size=1k`/`10k`,
 * `max-file=1`/`2`): each shows every line once, in order. A `logs -f` that stops reading makes the
 * daemon hold a bounded number of files for it, and what it let go is one line on its stderr. No fd
 * is left on the log once the readers end. Real daemon, host tasks.
 */
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import type { DaemonClient } from '../../src/daemon/index.js';
import { maxHeldFiles } from '../../src/logfile/heldFiles.js';
import { Collector, tmpDir, until } from '../helpers/common.js';
import { client, daemonPid, daemonRoot, eventually, fdsOf } from '../daemon/helpers.js';
import { startTaskio, taskio } from './taskioCommand.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

const host = ['--runtime', 'host'];
const seqText = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\n`).join('');
/** The daemon's fds on task `id`'s log files (those removed show as `… (deleted)`). */
const logFds = (id: string): string[] => fdsOf(daemonPid(root)).filter((f) => f.startsWith(path.join(root, 'tasks', id, `${id}.log`)));
/** The last line of task `id`'s log. */
async function lastLine(id: string): Promise<string> {
  const last = new Collector();
  await c.logs(id, { stdout: last }, { tail: 1 });
  return last.text();
}

// About 45 bytes a CRI entry: some 450 rotations of 1k files, or 110 of 10k ones (twice as many
// showed nothing more and cost the suite 10 CPU-s).
for (const [size, files, lines] of [['1k', 1, 10000], ['1k', 2, 10000], ['10k', 1, 25000], ['10k', 2, 25000]] as const) {
  t.test(`max-size=${size} max-file=${files}: logs -f, attach and an attached run each show every line of seq 1 ${lines} once, in order`, { timeout: 120_000 }, async (t) => {
    const go = path.join(tmpDir(t, 'taskio-fastrot-'), 'go');
    const id = `fast-${size}-${files}`;
    const opts = ['--log-opt', `max-size=${size}`, '--log-opt', `max-file=${files}`];
    const d = await taskio(t, root, 'run', '-d', '--name', id, ...host, ...opts, '--', 'sh', '-c', `echo start; while [ ! -e ${go} ]; do sleep 0.02; done; seq 1 ${lines}`);
    t.same([d.code, d.stderr], [0, '']);
    const follower = startTaskio(t, root, ['logs', '-f', id]);
    const attached = startTaskio(t, root, ['attach', id]);
    // Both follow the live log: logs -f showed the first line, and the attach opened the log where it
    // starts (the daemon's fds on it: the writer's and the two readers').
    await until(() => follower.output() === 'start\n' && logFds(id).length === 3, 30_000, 'both readers to follow the log');
    fs.writeFileSync(go, '');
    const [f, a] = await Promise.all([follower.result, attached.result]);
    t.same([f.code, f.stderr, f.stdout === `start\n${seqText(1, lines)}`], [0, '', true], 'logs -f: every line once, in order');
    t.same([a.code, a.stderr, a.stdout === seqText(1, lines)], [0, '', true], 'attach: every line once, in order');
    await eventually(() => logFds(id).length === 0, 'the daemon to let go of the log', 5000);

    const run = await taskio(t, root, 'run', '--rm', ...host, ...opts, '--', 'seq', '1', String(lines));
    t.same([run.code, run.stderr, run.stdout === seqText(1, lines)], [0, '', true], 'an attached run: every line once, in order');
    t.same(fdsOf(daemonPid(root)).filter((f) => f.includes('.log (deleted)')), [], 'no fd left on a removed log file');
  });
}

t.test('a logs -f that stops reading: the daemon holds at most maxHeldFiles files for it, the lines it let go are one line on its stderr, no fd is left', { timeout: 120_000 }, async (t) => {
  const go = path.join(tmpDir(t, 'taskio-fastrot-'), 'go');
  const id = 'paused';
  const lines = 100000; // some 4,700 rotations of 1k files, most of them while the reader is stopped
  // seq writing line by line (stdbuf -oL; its own 4 KiB writes end mid-line): a pipe takes each
  // write whole, so a copy that read the pipe empty holds no unfinished line, which the quiet-line
  // rule would write as a P entry and its rest as an F one. Each line is one F entry, the bytes
  // counted below.
  const d = await taskio(t, root, 'run', '-d', '--name', id, ...host, '--log-opt', 'max-size=1k', '--', 'sh', '-c',
    `echo start; while [ ! -e ${go} ]; do sleep 0.02; done; stdbuf -oL seq 1 ${lines}`);
  t.equal(d.code, 0);
  const follower = startTaskio(t, root, ['logs', '-f', id]);
  await until(() => follower.output() === 'start\n', 30_000, 'logs -f to follow the log');
  // Its stdout is not read: its pipe fills, then the socket, and the daemon's reader stops.
  follower.stdout!.pause();
  fs.writeFileSync(go, '');
  await c.wait(id);
  await until(async () => (await lastLine(id)) === `${lines}\n`, 30_000, 'the whole output in the log');
  const removed = logFds(id).filter((f) => f.endsWith(' (deleted)'));
  t.equal(removed.length, 1 + maxHeldFiles, 'the reader\'s current file and maxHeldFiles files held, no more');

  follower.stdout!.resume();
  const f = await follower.result;
  t.equal(f.code, 0);
  const got = f.stdout.split('\n').slice(1, -1).map(Number);
  const at = got.findIndex((n, i) => n !== i + 1);
  t.ok(at > 0, `the lines up to ${at} came, then the gap`);
  const after = got[at]!;
  t.ok(f.stdout === `start\n${seqText(1, at)}${seqText(after, lines)}`, `every line but ${at + 1}..${after - 1} once, in order`);
  const m = /^Error grabbing logs: (\d+) rotated log file\(s\), (\d+) bytes, were removed before this reader reached them \(it fell too far behind\)\n$/.exec(f.stderr);
  t.ok(m, `one line on stderr: ${JSON.stringify(f.stderr)}`);
  // Each CRI line lost: a 30-byte time, " stdout F ", the number and its newline.
  let lostBytes = 0;
  for (let n = at + 1; n < after; n++) lostBytes += 30 + 10 + String(n).length + 1;
  t.equal(Number(m?.[2]), lostBytes, 'it counts the bytes of exactly the lines missing');
  await eventually(() => logFds(id).length === 0, 'the daemon to let go of the log', 5000);
});
