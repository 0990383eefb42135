import t from 'tap';
import { missingBinary, ociSubject } from './subject.js';
import { procSuite } from './suite.js';

procSuite(t, ociSubject('runsc', {
  orders: 'runsc refuses to signal a created container with its own error (ERR_RUNTIME, see DESIGN.md), so orders with kill before start cannot end in ERR_INVALID_STATE; runc and the host run all 24',
}));
missingBinary(t, 'runsc');
