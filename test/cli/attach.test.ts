import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cliMain, daemonRoot } from '../daemon/helpers.js';
import { cliEnv, daemonClient, taskio } from './runSession.js';

const opts = { timeout: 120_000 };
// Answers each line it reads, and exits 5 at "end".
const echoLoop = ['sh', '-c', 'while read x; do echo "got $x"; [ "$x" = end ] && exit 5; done; exit 9'];

/** `taskio attach ID` as a child whose stdin stays open; resolves once `text` was printed. */
function attacher(root: string, id: string) {
  const child = spawn(process.execPath, [cliMain, 'attach', id], { env: cliEnv(root), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const printed = (text: string) => new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (out.includes(text)) resolve();
      else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`attach exited without ${text}: ${out}`));
      else child.stdout!.once('data', check);
    };
    check();
  });
  return { child, printed };
}

t.test('attach after the first client was SIGKILLed: the task runs on, the second attach gets its exit code', opts, async (t) => {
  const root = daemonRoot(t);
  const started = await taskio(root, ['run', '-d', '-i', '--name', 'loop', '--runtime', 'host', '--', ...echoLoop]);
  t.equal(started.status, 0);
  const first = attacher(root, 'loop');
  t.teardown(() => first.child.kill('SIGKILL'));
  // The attach is live once a line typed into it comes back.
  first.child.stdin!.write('one\n');
  await first.printed('got one');
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  const second = await taskio(root, ['attach', 'loop'], 'two\nend\n');
  t.equal(second.stdout, 'got two\ngot end\n', 'the task kept its stdin and reads the second client');
  t.equal(second.status, 5, 'the task\'s exit code');
  const c = daemonClient(t, root);
  t.equal((await c.getTask('loop')).status, 'exited');
});

t.test('attach --logs replays the log; a signal death is 128 + n; --no-stdin', opts, async (t) => {
  const root = daemonRoot(t);
  const c = daemonClient(t, root);
  await taskio(root, ['run', '-d', '-i', '--name', 'replay', '--runtime', 'host', '--', 'sh', '-c', 'echo early; exec cat']);
  const child = spawn(process.execPath, [cliMain, 'attach', '--logs', '--no-stdin', 'replay'], { env: cliEnv(root), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  await new Promise<void>((resolve) => { const check = (): void => { if (out.includes('early\n')) resolve(); else child.stdout!.once('data', check); }; check(); });
  t.pass('the log from its start');
  await c.kill('replay', 'TERM');
  const [code] = await once(child, 'exit') as [number];
  t.equal(code, 128 + 15, 'killed by TERM while attached: 143');
});

t.test('FIFO mode: one reader at a time; a second attach names the holder\'s pid', opts, async (t) => {
  const root = daemonRoot(t);
  await taskio(root, ['run', '-d', '-i', '--log', 'none', '--name', 'fifo', '--runtime', 'host', '--', ...echoLoop]);
  const first = attacher(root, 'fifo');
  t.teardown(() => first.child.kill('SIGKILL'));
  first.child.stdin!.write('one\n');
  await first.printed('got one');
  const second = await taskio(root, ['attach', 'fifo'], '');
  t.equal(second.status, 125);
  t.match(second.stderr, new RegExp(`^taskio attach: task fifo is already attached by pid ${first.child.pid}[^\\n]*\\n$`));
  first.child.stdin!.end('end\n');
  const [code] = await once(first.child, 'exit') as [number];
  t.equal(code, 5, 'the first attach still gets the exit code');
});

t.test('attach bad input: unknown id, exited task, missing argument -> 125, one line', opts, async (t) => {
  const root = daemonRoot(t);
  const usage = await taskio(root, ['attach']);
  t.equal(usage.status, 125);
  t.equal(usage.stderr, `taskio attach: "taskio attach" requires exactly 1 argument. See 'taskio attach --help'.\n`);
  const unknown = await taskio(root, ['attach', 'nosuch']);
  t.equal(unknown.status, 125);
  t.equal(unknown.stderr, 'taskio attach: no such task: nosuch\n');
  await taskio(root, ['run', '--name', 'done', '--runtime', 'host', '--', 'true']);
  const exited = await taskio(root, ['attach', 'done']);
  t.equal(exited.status, 125);
  t.equal(exited.stderr, 'taskio attach: task done is not running\n');
});
