import t from 'tap';
import { runTtyScenario } from './runTtyScenario.js';

t.test('run -it on runsc, in a real pty: size, resize, echo, detach, attach, exit 7', { timeout: 150_000 }, (t) => runTtyScenario(t, 'runsc'));
