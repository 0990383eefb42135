/**
 * `npm run demo:library`: a task under taskio's runtime core — a busybox container under runsc when runsc is
 * installed and this is root, else a plain host process (the host backend). The task counts lines
 * slowly, then asks for a name on stdin and exits 3. The demo streams its output through a FIFO
 * set, detaches (the task keeps running; its output waits in the pipe), reattaches as a restarted
 * client would, sends stdin, and checks that every line arrived exactly once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { newAttach, newCreator, withFIFODir, withStreams } from '../attach/index.js';
import { newFIFOSet } from '../fifo/index.js';
import { Init, type Runtime } from '../runtime/proc/index.js';
import { HostRuntime } from '../runtime/host/index.js';
import { Runsc, createBusyboxBundle } from '../runtime/oci/index.js';
import { defaultMonitor } from '../runtime/reaper/index.js';
import { removeInside } from '../removeInside.js';

const lines = 40;
const script = `i=1; while [ $i -le ${lines} ]; do echo "line $i"; i=$((i+1)); sleep 0.05; done; ` +
  'echo "what is your name?"; read name; echo "hello, $name"; exit 3';

function say(msg: string): void {
  process.stdout.write(`taskio demo: ${msg}\n`);
}

/** A client sink that shows what arrives, prefixed with the session, and keeps the text. */
class Screen extends Writable {
  text = '';
  readonly #session: string;
  readonly #onText: (all: string) => void;
  constructor(session: string, onText: (all: string) => void) {
    super();
    this.#session = session;
    this.#onText = onText;
  }
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    for (const l of chunk.toString().split('\n').filter(Boolean)) process.stdout.write(`  [${this.#session}] ${l}\n`);
    this.#onText(this.text);
    cb();
  }
}

/** runsc when it can run here, else the host backend; `TASKIO_DEMO_RUNTIME=host` forces the host. */
function pickRuntime(base: string): { name: string; runtime: Runtime } {
  if (process.env.TASKIO_DEMO_RUNTIME !== 'host' && process.getuid?.() === 0 && fs.existsSync('/usr/bin/runsc')) {
    return { name: 'runsc (gVisor) container', runtime: new Runsc({ command: '/usr/bin/runsc', root: path.join(base, 'runsc'), logPath: path.join(base, 'runsc.log') }) };
  }
  return { name: 'host process (host backend)', runtime: new HostRuntime() };
}

async function main(): Promise<void> {
  const parent = process.getuid?.() === 0 ? '/run' : os.tmpdir();
  const base = fs.mkdtempSync(path.join(parent, 'taskio-demo-'));
  defaultMonitor.start();
  const { name, runtime } = pickRuntime(base);
  const id = `demo-${process.pid}`;
  const bundle = path.join(base, 'bundle');
  await createBusyboxBundle(bundle, { args: ['sh', '-c', script] });
  say(`running a ${name}: ${script}`);

  // First client: a fresh FIFO set with all three streams (a stream left out would have no FIFO
  // for later clients either); it leaves after a few lines without sending anything.
  let detach!: () => void;
  const enough = new Promise<void>((resolve) => { detach = resolve; });
  const first = new Screen('client 1', (all) => { if (all.includes('line 8\n')) detach(); });
  const io1 = await newCreator(withStreams(new PassThrough(), first, first), withFIFODir(path.join(base, 'fifo')))(id);
  const config = io1.config();
  const init = new Init(id, runtime, config);
  try {
    await init.create({ id, bundle, ...config });
    await init.start();
    say(`task started, pid ${init.pid()}, FIFO set ${path.dirname(config.stdout)}`);
    await enough;
    io1.cancel();
    say('client 1 detached; the task keeps running, its output waits in the pipe, its stdin stays open');
    await new Promise((r) => setTimeout(r, 600));

    // Second client: reattaches to the same set, answers the question on stdin.
    const stdin = new PassThrough();
    let asked!: () => void;
    const question = new Promise<void>((resolve) => { asked = resolve; });
    const second = new Screen('client 2', (all) => { if (all.includes('what is your name?')) asked(); });
    const io2 = await newAttach(withStreams(stdin, second, second))(newFIFOSet(config));
    say('client 2 reattached');
    await question;
    stdin.write('taskio\n');
    say('client 2 sent "taskio" on stdin');
    await init.wait();
    await io2.wait();
    say(`task exited with status ${init.exitStatus()}`);

    const all = first.text + second.text;
    const counted = Array.from({ length: lines }, (_, i) => all.split('\n').filter((l) => l === `line ${i + 1}`).length);
    const once = counted.every((n) => n === 1);
    say(`lines 1..${lines}: ${once ? 'each arrived exactly once across the two clients' : `MISMATCH ${JSON.stringify(counted)}`}`);
    say(`client 1 saw ${first.text.split('\n').filter(Boolean).length} lines, client 2 saw ${second.text.split('\n').filter(Boolean).length}`);
    await io2.close();
    if (!once || init.exitStatus() !== 3 || !second.text.includes('hello, taskio')) process.exitCode = 1;
  } finally {
    await init.delete().catch(() => undefined);
    await io1.close();
    removeInside(parent, base); // made above, by this run
    defaultMonitor.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
