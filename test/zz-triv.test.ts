import '../src/index.js';
import t from 'tap'; t.pass('x');
