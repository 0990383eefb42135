/** The exit record of a status: the death's signal under its name, real-time ones too. */
import t from 'tap';
import { exitFromStatus } from '../../src/daemon/exitStatus.js';

t.test('a death by signal is named, real-time signals as docker names them; a plain code has none', { timeout: 10_000 }, (t) => {
  t.plan(7);
  t.equal(exitFromStatus(128 + 9, null).signal, 'SIGKILL');
  t.equal(exitFromStatus(128 + 34, null).signal, 'SIGRTMIN');
  t.equal(exitFromStatus(128 + 35, null).signal, 'SIGRTMIN+1');
  t.equal(exitFromStatus(128 + 64, null).signal, 'SIGRTMAX');
  t.equal(exitFromStatus(3, null).signal, null);
  t.equal(exitFromStatus(128, null).signal, null, '128 is no signal');
  t.equal(exitFromStatus(255, null).signal, null, 'past the last signal: a code');
});
