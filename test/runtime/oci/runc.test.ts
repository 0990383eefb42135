import t from 'tap';
import { ociSuite } from '../../fixtures/oci-suite.js';

ociSuite(t, 'runc');
