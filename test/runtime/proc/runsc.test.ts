import t from 'tap';
import { missingBinary, ociSubject } from './subject.js';
import { procSuite } from './suite.js';

procSuite(t, ociSubject('runsc'));
missingBinary(t, 'runsc');
