import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import t from 'tap';
import { createContainer, hostBackend } from '../../../src/runtime/container/index.js';
import { createBusyboxBundle } from '../../../src/runtime/oci/index.js';
import { newCreator, withFIFODir, withStreams } from '../../../src/attach/index.js';
import { Collector } from '../../helpers/common.js';

t.setTimeout(60_000);

t.test('host backend: processes are in the job from their first instruction', async (t) => {
  const base = `/run/taskio-test-${crypto.randomBytes(6).toString('hex')}`;
  fs.mkdirSync(base, { recursive: true, mode: 0o711 });
  t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
  const jobPrefix = `born-${crypto.randomBytes(3).toString('hex')}-`;
  const backend = hostBackend({ jobPrefix });
  const id = `born-${crypto.randomBytes(3).toString('hex')}`;
  const bundle = path.join(base, 'bundle');
  // The very first thing the process does is read its own cgroups.
  await createBusyboxBundle(bundle, { args: ['cat', '/proc/self/cgroup'] });
  const out = new Collector();
  const io = await newCreator(withFIFODir(path.join(base, 'fifo')), withStreams(null, out, new Collector()))(id);
  t.teardown(() => io.close());
  const c = await createContainer({ id, bundle, backend, stateDir: path.join(base, 'state'), stdio: io.config() });
  t.teardown(() => c.destroy());
  await c.wait();
  await io.wait();
  const lines = out.text().split('\n').filter(Boolean);
  t.ok(lines.length > 0, 'cat printed its cgroups');
  const job = `/taskio/${jobPrefix}${id}`;
  t.ok(lines.some((l) => l.endsWith(job)), `a hierarchy names ${job}`);
  // Memory and CPU are charged where the process is: they must name the job from the start.
  for (const ctrl of ['memory', 'cpu']) {
    const line = lines.find((l) => l.split(':')[1]?.split(',').includes(ctrl));
    if (line) t.ok(line.endsWith(job), `${ctrl}: ${line}`);
  }
  await t.rejects(createContainer({ id: `${id}-x`, bundle: await makeBundle(base, ['no-such-command-here']), backend, stateDir: path.join(base, 'state2') }),
    { message: /no-such-command-here/ }, 'a missing command still fails at start, not as exit 127');
});

async function makeBundle(base: string, args: string[]): Promise<string> {
  const dir = path.join(base, `b-${crypto.randomBytes(3).toString('hex')}`);
  await createBusyboxBundle(dir, { args });
  return dir;
}
