import t from 'tap';
import { missingBinary, ociSubject } from './subject.js';
import { procSuite } from './suite.js';

procSuite(t, ociSubject('runc', { checkpoint: 'runc checkpoint needs CRIU, which fails on this kernel (see test/runtime/oci/checkpoint.test.ts)' }));
missingBinary(t, 'runc');
