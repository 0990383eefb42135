import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import { newCreator, withStreams, withFIFODir } from '../../src/index.js';
import { pipe2 } from '../../src/sys/index.js';
import { tmpDir, sh, exitOf } from '../helpers/common.js';

t.setTimeout(60_000);

/** The next process warning whose message matches `re` (a listener registered before the action). */
function nextWarning(t: { teardown(fn: () => unknown): void }, re: RegExp): Promise<Error> {
  return new Promise((resolve) => {
    const on = (w: Error): void => {
      if (!re.test(w.message)) return;
      process.off('warning', on);
      resolve(w);
    };
    process.on('warning', on);
    t.teardown(() => process.off('warning', on));
  });
}

// A supervisor that forwards a task's output to a log shipper (or to its own stdout piped into
// `head`) gets EPIPE once that reader is gone. The failed write's 'error' comes a tick after its
// callback, when the copy had already stopped and dropped its listener: the unhandled 'error'
// brought the whole process down. containerd's copy ends with the error and the shim lives on.
t.test('a sink whose reader went away (EPIPE) stops the copy, not the process', async (t) => {
  const dir = tmpDir(t);
  // A pipe whose reader is gone: what process.stdout is once the `head` it was piped into exited.
  const p = pipe2({ nonblock: true });
  fs.closeSync(p.read);
  const sink = new net.Socket({ fd: p.write, readable: false, writable: true });
  t.teardown(() => sink.destroy());
  const warned = nextWarning(t, /EPIPE/);
  const io = await newCreator(withStreams(null, sink, null), withFIFODir(dir))('task');
  t.teardown(() => io.close());
  const task = sh('echo out > "$1"', io.config().stdout);
  const w = await warned;
  t.equal((w as NodeJS.ErrnoException).code, 'EPIPE', 'the sink\'s error is reported as a warning');
  await io.wait();
  t.equal(await exitOf(task), 0);
  t.equal(sink.listenerCount('error'), 0, 'no listener of taskio left on the sink');
});

t.test('a sink whose _write throws stops the copy, not the process', async (t) => {
  const dir = tmpDir(t);
  const sink = new Writable({ write: () => { throw new Error('sink broke'); } });
  const warned = nextWarning(t, /sink broke/);
  const io = await newCreator(withStreams(null, sink, null), withFIFODir(dir))('task');
  t.teardown(() => io.close());
  const task = sh('echo out > "$1"', io.config().stdout);
  await warned;
  await io.wait();
  t.equal(await exitOf(task), 0);
  t.ok(sink.destroyed, 'the sink is destroyed with its error, as Node does for a callback error');
  t.equal(sink.listenerCount('error'), 0, 'no listener of taskio left on the sink');
});
