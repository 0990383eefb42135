/**
 * Ending a task's stdin as containerd does: the client's end of the stdin FIFO closing is not EOF;
 * `closeStdin()` (containerd's CloseIO) closes the task host's own writer, and the task still reads
 * every byte a client wrote before its EOF. `withStdinClose` calls it at the right moment.
 */
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { newAttach, newCreator, withFIFODir, withStdinClose, withStreams } from '../../../src/attach/index.js';
import { newDirectIO } from '../../../src/direct/index.js';
import { newFIFOSetInDir } from '../../../src/fifo/index.js';
import { createBusyboxBundle } from '../../../src/runtime/oci/index.js';
import { HostRuntime } from '../../../src/runtime/host/index.js';
import { Init, type Runtime } from '../../../src/runtime/proc/index.js';
import { createIO } from '../../../src/runtime/stdio/index.js';
import { Collector, exitOf, sha256, tmpDir } from '../../helpers/common.js';
import { leftoversUnder, scratch } from '../../fixtures/oci.js';

const MiB = 1 << 20;
const opts = { timeout: 60_000 };

t.test('ProcessIO: closeStdin() right after a client ended 1 MiB; the task reads all of it, then EOF', opts, async (t) => {
  const dir = tmpDir(t);
  const set = await newFIFOSetInDir(dir, 'drain', false);
  t.teardown(() => set.close());
  const io = await createIO(set.config, { id: 'drain' });
  t.teardown(() => io.close());
  const task = spawn('sha256sum', [], { stdio: [io.stdio[0], 'pipe', 'inherit'] });
  io.closeChildFds();
  let said = '';
  task.stdout!.on('data', (d: Buffer) => { said += d; });
  const client = await newDirectIO(set);
  t.teardown(() => client.close());
  await client.stdin!.opened;
  const data = crypto.randomBytes(MiB);
  client.stdin!.end(data);
  await io.closeStdin(); // at once: most of the MiB is still in the FIFO or the client's buffer
  t.equal(await exitOf(task), 0);
  t.equal(said, `${sha256(data)}  -\n`, 'every byte, then EOF');
});

t.test('withStdinClose: never after a detach; a hook that fails rejects wait()', opts, async (t) => {
  const dir = tmpDir(t);
  const set = await newFIFOSetInDir(dir, 'hook', false);
  t.teardown(() => set.close());
  const io = await createIO(set.config, { id: 'hook' });
  t.teardown(() => io.close());
  const task = spawn('cat', [], { stdio: [io.stdio[0], 'pipe', 'inherit'] });
  io.closeChildFds();
  const out = new Collector();
  task.stdout!.pipe(out);

  let calls = 0;
  const input = new PassThrough();
  const first = await newAttach(withStreams(input, null, null), withStdinClose(() => { calls++; }))(set);
  input.write('kept\n');
  await new Promise((resolve) => out.once('bytes', resolve));
  first.cancel(); // detached with the caller's stdin still open
  input.end();
  await first.wait();
  t.equal(calls, 0, 'a detach is not the end of stdin');

  const failing = await newAttach(withStreams(input, new Collector(), null), withStdinClose(() => Promise.reject(new Error('CloseIO failed'))))(set);
  await t.rejects(failing.wait(), { message: 'CloseIO failed' }, 'the hook ran once stdin was written, and its failure reaches wait()');
  failing.cancel();

  await io.closeStdin();
  t.equal(await exitOf(task), 0);
  t.equal(out.text(), 'kept\n');
});

/** A task host under test: taskio's Init over a runtime, with bundles for `args`. */
interface Host {
  name: string;
  runtime: Runtime;
  base: string;
  root?: string;
  bundle(args: string[]): Promise<string>;
  id(name: string): string;
}

function hostSubject(): Host {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-stdinclose-'));
  let n = 0;
  return {
    name: 'host', runtime: new HostRuntime(), base,
    // The host runs the bundle's process.args with the host's own binaries; the rootfs is unused.
    bundle: async (args) => { const dir = path.join(base, `bundle-${n++}`); await createBusyboxBundle(dir, { args }); return dir; },
    id: (name) => `${name}-${n++}-${crypto.randomBytes(3).toString('hex')}`,
  };
}

function runcSubject(): Host {
  const s = scratch('runc');
  return { name: 'runc', runtime: s.runtime, base: s.base, root: s.root, bundle: (args) => s.bundle('stdin', { args }), id: (name) => s.id(name) };
}

for (const make of [hostSubject, runcSubject]) {
  const h = make();
  t.test(`${h.name}`, async (t) => {
    t.teardown(() => {
      const left = leftoversUnder(h.base, h.root);
      fs.rmSync(h.base, { recursive: true, force: true });
      if (Object.values(left).some((v) => v.length > 0)) throw new Error(`left behind: ${JSON.stringify(left)}`);
    });
    const fifoDir = path.join(h.base, 'fifo');

    /** An Init deleted with the test, whatever happened. */
    const makeInit = (t: Test, id: string, stdio: { stdin: string; stdout: string; stderr: string; terminal: boolean }): Init => {
      const init = new Init(id, h.runtime, stdio, { drainTimeout: 5000 });
      t.teardown(async () => {
        await init.killAll();
        if ((await init.status()) === 'running') await init.wait();
        if (!['deleted', 'unknown'].includes(await init.status())) await init.delete().catch(() => undefined);
      });
      return init;
    };

    t.test('init.closeStdin() right after the client ended 1 MiB: sha256sum inside the task matches', opts, async (t) => {
      const id = h.id('sum');
      const set = await newFIFOSetInDir(fifoDir, id, false);
      t.teardown(() => set.close());
      const client = await newDirectIO(set);
      t.teardown(() => client.close());
      const init = makeInit(t, id, set.config);
      await init.create({ id, bundle: await h.bundle(['sha256sum']), ...set.config });
      await init.start();
      await client.stdin!.opened;
      const data = crypto.randomBytes(MiB);
      client.stdin!.end(data);
      await init.closeStdin();
      const said = new Collector();
      client.stdout!.pipe(said);
      await init.wait();
      t.equal(init.exitStatus(), 0);
      await init.delete();
      await client.wait();
      t.equal(said.text(), `${sha256(data)}  -\n`);
    });

    t.test('withStdinClose(() => init.closeStdin()): cat fed 1 MiB exits 0, byte-exact', opts, async (t) => {
      const id = h.id('cat');
      const data = crypto.randomBytes(MiB);
      const input = new PassThrough();
      const out = new Collector();
      let init: Init | null = null;
      const io = await newCreator(withFIFODir(fifoDir), withStreams(input, out, new Collector()), withStdinClose(() => init!.closeStdin()))(id);
      t.teardown(() => io.close());
      init = makeInit(t, id, io.config());
      await init.create({ id, bundle: await h.bundle(['cat']), ...io.config() });
      await init.start();
      // In pieces, as a caller's stdin comes.
      for (let off = 0; off < data.length; off += 100_000) input.write(data.subarray(off, off + 100_000));
      input.end();
      await init.wait();
      t.equal(init.exitStatus(), 0, 'cat saw EOF');
      await init.delete();
      await io.wait();
      t.equal(out.bytes, data.length);
      t.ok(sha256(out.buffer()) === sha256(data), 'byte-exact');
    });
  });
}
