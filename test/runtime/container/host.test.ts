import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import t from 'tap';
import { hostBackend } from '../../../src/runtime/container/index.js';
import { cgroupLayout, ParentName } from '../../../src/runtime/jobobject/index.js';
import { createBusyboxBundle } from '../../../src/runtime/oci/index.js';
import { containerSuite } from './suite.js';

const base = `/run/taskio-test-${crypto.randomBytes(6).toString('hex')}`;
fs.mkdirSync(base, { recursive: true, mode: 0o711 });
// A prefix of our own: the leftover check finds exactly this file's jobs, whatever else runs.
const jobPrefix = `ctest-${crypto.randomBytes(3).toString('hex')}-`;
let n = 0;

/** The job directories of this file still present in any hierarchy. */
function jobDirs(): string[] {
  const layout = cgroupLayout();
  const mounts = new Set([...(layout.v2 ? [layout.v2] : []), ...layout.v1.values()]);
  return [...mounts].flatMap((m) => {
    const dir = path.join(m, ParentName);
    try {
      return fs.readdirSync(dir).filter((e) => e.startsWith(jobPrefix)).map((e) => path.join(dir, e));
    } catch {
      return [];
    }
  });
}

containerSuite(t, {
  name: 'host', backend: hostBackend({ jobPrefix }), base,
  // The host runs the bundle's args on the host (sh, sleep, true from the host's PATH).
  async bundle(name, opts) {
    const dir = path.join(base, 'bundles', `${name}-${n++}`);
    await createBusyboxBundle(dir, opts);
    return dir;
  },
  id: (name) => `${name}-${n++}-${crypto.randomBytes(3).toString('hex')}`,
  leftovers: jobDirs,
});
