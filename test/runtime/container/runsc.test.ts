import t from 'tap';
import { ociBackend } from '../../../src/runtime/container/index.js';
import { scratch } from '../../fixtures/oci.js';
import { containerSuite } from './suite.js';

const s = scratch('runsc');
containerSuite(t, {
  name: 'runsc', backend: await ociBackend(s.runtime), base: s.base, root: s.root,
  bundle: (name, opts) => s.bundle(name, opts), id: (name) => s.id(name), leftovers: () => s.cgroupsLeft(),
});
