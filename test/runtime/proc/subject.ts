import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { Runsc, type Dialect } from '../../../src/runtime/oci/index.js';
import { Init } from '../../../src/runtime/proc/index.js';
import { fdsUnder } from '../../helpers/common.js';
import { scratch } from '../../fixtures/oci.js';
import type { Subject } from './suite.js';

/** runsc or runc with a private root under /run. */
export function ociSubject(dialect: Dialect, skip: Subject['skip'] = {}): Subject {
  const s = scratch(dialect);
  return {
    name: dialect, runtime: s.runtime, base: s.base, root: s.root, skip,
    bundle: (name, opts) => s.bundle(name, opts),
    id: (name) => s.id(name),
    cgroupsLeft: () => s.cgroupsLeft(),
  };
}

/** A runtime binary that does not exist: ENOENT naming it, nothing left open. */
export function missingBinary(t: Test, dialect: Dialect): void {
  t.test('missing runtime binary → ENOENT, nothing left behind', { timeout: 30_000 }, async (t) => {
    const s = scratch(dialect);
    t.teardown(() => fs.rmSync(s.base, { recursive: true, force: true }));
    const rt = new Runsc({ command: path.join(s.base, 'no-such-runtime'), dialect, root: s.root });
    const bundle = await s.bundle('nobin', { args: ['true'] });
    const id = s.id('nobin');
    const init = new Init(id, rt, { stdin: '', stdout: '', stderr: '', terminal: false });
    await t.rejects(init.create({ id, bundle, terminal: false, stdin: '', stdout: '', stderr: '' }), { code: 'ENOENT', message: /no-such-runtime/ });
    t.equal(await init.status(), 'unknown');
    t.same(fdsUnder(s.base), []);
  });
}
