import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { mkfifo } from '../../src/sys/index.js';
import { exitOf } from '../helpers/common.js';
import { daemonWithBox, execClient, nextEvent } from './execBox.js';
import { daemonPid, eventually, foregroundDaemon, waitGone } from './helpers.js';

// The exec FIFO sets a SIGKILLed `taskio exec` client leaves in <root>/fifo, and who removes them.

/** A time well past the age an exec FIFO set no exec names must reach before it is swept (5 min). */
const longAgo = new Date(Date.now() - 60 * 60_000);

const setsIn = (root: string): string[] => fs.readdirSync(path.join(root, 'fifo')).sort();

/** A FIFO set directory as a client makes it, `name` in `<root>/fifo`, with the given FIFO streams; its mtime set back when `old`. */
function plantSet(root: string, name: string, id: string, fifos: string[], old: boolean): string {
  const dir = path.join(root, 'fifo', name);
  fs.mkdirSync(dir, { mode: 0o700 });
  for (const s of fifos) mkfifo(path.join(dir, `${id}-${s}`), 0o600);
  if (old) fs.utimesSync(dir, longAgo, longAgo);
  return dir;
}

t.test('a SIGKILLed exec client: once the exec ended, its FIFO set is gone', { timeout: 90_000 }, async (t) => {
  const { root, c } = await daemonWithBox(t);
  const exited = await nextEvent(t, c, 'box', (e) => e.type === 'exec-exit');
  const client = await execClient(t, root, ['sh', '-c', 'while :; do echo x; done']);
  const [set] = setsIn(root);
  t.ok(set, 'the client made its set');
  const gone = exitOf(client);
  client.kill('SIGKILL');
  await gone;
  // Its output FIFO lost its reader: the exec ends on EPIPE; the daemon removes the set before it tells.
  await exited.seen;
  t.same(setsIn(root), [], `${set} was removed once the exec ended`);
});

t.test('a client that still reads an ended exec\'s output keeps its set; it removes it itself', { timeout: 90_000 }, async (t) => {
  const { root, c } = await daemonWithBox(t);
  // A slow reader: the first chunk is taken and not acknowledged until the test says so.
  let out = '';
  let release: (() => void) | null = null;
  let held!: () => void;
  const firstHeld = new Promise<void>((resolve) => { held = resolve; });
  const slow = new Writable({ write(ch: Buffer, _e, cb) { out += ch.toString(); if (release === null) { release = cb; held(); } else cb(); } });
  const exited = await nextEvent(t, c, 'box', (e) => e.type === 'exec-exit');
  const h = await c.exec('box', { args: ['sh', '-c', 'echo first; echo second'], stdout: slow, stderr: slow });
  // Both: the exec's end can be told before this client has read its first chunk.
  await Promise.all([exited.seen, firstHeld]);
  const [set] = setsIn(root);
  t.ok(set, 'the set is still there after the exec ended');
  const id = set!.replace(/-[A-Za-z0-9]{6}$/, '');
  t.same(fs.readdirSync(path.join(root, 'fifo', set!)).sort(), [`${id}-stderr`, `${id}-stdout`], 'with both FIFOs');
  release!();
  t.equal((await h.wait()).exitCode, 0);
  t.equal(out, 'first\nsecond\n', 'the client read all of it');
  t.same(setsIn(root), [], 'and removed its set itself');
});

t.test('a daemon started after an exec client was SIGKILLed sweeps its set; a foreign file keeps a directory as it is; a young set is left', { timeout: 90_000 }, async (t) => {
  const { root, first } = await daemonWithBox(t);
  // Its process writes nothing more after its first line: it outlives its client, and its set stays
  // named by a running exec while this daemon runs.
  const client = await execClient(t, root, ['sh', '-c', 'echo x; exec sleep 300']);
  const [set] = setsIn(root);
  const gone = exitOf(client);
  client.kill('SIGKILL');
  await gone;
  // Through its exit recorder (the process started), which stays while the tasks run.
  const stopped = daemonPid(root);
  first.child.kill('SIGTERM');
  await waitGone(stopped);
  t.equal(first.child.exitCode, null, 'the first daemon stopped; its tasks run on');
  t.same(setsIn(root), [set], 'the set of the killed client is still there');
  fs.utimesSync(path.join(root, 'fifo', set!), longAgo, longAgo);
  // Beside it: an old set with a file that is not one of its FIFOs, one with a symlink in a FIFO's
  // name, and one made a moment ago (its client may be about to lock it).
  const foreign = plantSet(root, 'exec-f-Abc123', 'exec-f', ['stdout'], false);
  fs.writeFileSync(path.join(foreign, 'notes'), 'mine\n');
  fs.utimesSync(foreign, longAgo, longAgo);
  const linked = plantSet(root, 'exec-l-Abc123', 'exec-l', ['stderr'], false);
  fs.symlinkSync('/etc/hostname', path.join(linked, 'exec-l-stdout'));
  fs.utimesSync(linked, longAgo, longAgo);
  plantSet(root, 'exec-y-Abc123', 'exec-y', ['stdout', 'stderr'], false);
  const second = await foregroundDaemon(root);
  // The sweep at start runs before the daemon listens.
  t.same(setsIn(root), ['exec-f-Abc123', 'exec-l-Abc123', 'exec-y-Abc123'], `${set} was swept; the others are left`);
  t.same(fs.readdirSync(foreign).sort(), ['exec-f-stdout', 'notes'], 'nothing in the foreign one was removed');
  t.same(fs.readdirSync(linked).sort(), ['exec-l-stderr', 'exec-l-stdout'], 'nor in the one with a symlink');
  t.ok(fs.lstatSync(path.join(linked, 'exec-l-stdout')).isSymbolicLink());
  const removed = new RegExp(`"dir":"${path.join(root, 'fifo', set!)}"[^\\n]*removed an exec FIFO set its client left`);
  await eventually(() => removed.test(second.stderr()), 'the removal in the log');
  await eventually(() => second.stderr().includes('exec-f-Abc123') && second.stderr().includes('exec-l-Abc123'), 'the warnings');
  const warnings = second.stderr().split('\n').filter((l) => l.includes('an exec FIFO set directory is left as it is'));
  t.equal(warnings.length, 2, 'one warning for each directory left');
  t.match(warnings.join('\n'), /exec-f-Abc123[^\n]*notes/, 'naming the directory and the file');
});
