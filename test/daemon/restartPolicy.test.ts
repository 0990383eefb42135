import t from 'tap';
import { checkRestartPolicy, firstDelayMs, maxDelayMs, restartDelay, steadyRunMs, type ExitFacts } from '../../src/daemon/restartPolicy.js';
import { parseRestartPolicy } from '../../src/cli/values.js';

const exit = (over: Partial<ExitFacts> = {}): ExitFacts => ({ exitCode: 1, manuallyStopped: false, restartCount: 0, ranMs: 50, lastDelayMs: 0, daemonStart: false, ...over });
const opts = { timeout: 10_000 };

t.test('each rule of restartDelay, one branch each', opts, async (t) => {
  // 1. no
  t.equal(restartDelay(undefined, exit()), null, 'no policy');
  t.equal(restartDelay({ name: 'no' }, exit()), null, 'no');
  // 2. stopped or killed by a client
  for (const name of ['on-failure', 'always', 'unless-stopped'] as const) t.equal(restartDelay({ name }, exit({ manuallyStopped: true })), null, `${name}: stopped by hand`);
  t.equal(restartDelay({ name: 'always' }, exit({ manuallyStopped: true, daemonStart: true })), firstDelayMs, 'always comes back when the daemon starts');
  t.equal(restartDelay({ name: 'unless-stopped' }, exit({ manuallyStopped: true, daemonStart: true })), null, 'unless-stopped does not');
  // 3. on-failure
  t.equal(restartDelay({ name: 'on-failure' }, exit({ exitCode: 0 })), null, 'on-failure: a clean exit');
  t.equal(restartDelay({ name: 'on-failure' }, exit({ exitCode: 137 })), firstDelayMs, 'on-failure: a failure');
  t.equal(restartDelay({ name: 'on-failure' }, exit({ exitCode: null })), firstDelayMs, 'on-failure: an exit nobody saw counts as one');
  t.equal(restartDelay({ name: 'on-failure', maximumRetryCount: 2 }, exit({ restartCount: 1 })), firstDelayMs, 'below the maximum');
  t.equal(restartDelay({ name: 'on-failure', maximumRetryCount: 2 }, exit({ restartCount: 2 })), null, 'at the maximum');
  t.equal(restartDelay({ name: 'on-failure', maximumRetryCount: 0 }, exit({ restartCount: 500 })), firstDelayMs, '0: no maximum');
  // 4. always, unless-stopped
  for (const name of ['always', 'unless-stopped'] as const) t.equal(restartDelay({ name }, exit({ exitCode: 0 })), firstDelayMs, `${name}: a clean exit too`);
  // 5. the wait
  t.equal(restartDelay({ name: 'always' }, exit({ lastDelayMs: 400 })), 800, 'doubles after a short run');
  t.equal(restartDelay({ name: 'always' }, exit({ lastDelayMs: 40_000 })), maxDelayMs, 'at most a minute');
  t.equal(restartDelay({ name: 'always' }, exit({ lastDelayMs: 40_000, ranMs: steadyRunMs })), firstDelayMs, 'starts over after a steady run');
});

t.test('the API\'s restartPolicy and the CLI\'s --restart', opts, async (t) => {
  t.same(checkRestartPolicy({ name: 'on-failure', maximumRetryCount: 3 }), { name: 'on-failure', maximumRetryCount: 3 });
  t.throws(() => checkRestartPolicy({ name: 'sometimes' }), { code: 'ERR_INVALID_FIELD', message: 'unknown restart policy "sometimes" (known: no, on-failure, always, unless-stopped)' });
  t.throws(() => checkRestartPolicy({ name: 'always', maximumRetryCount: 3 }), { code: 'ERR_INVALID_FIELD', message: /for the on-failure policy only/ });
  t.throws(() => checkRestartPolicy({ name: 'on-failure', maximumRetryCount: -1 }), { code: 'ERR_INVALID_FIELD' });
  t.throws(() => checkRestartPolicy({ name: 'always', retries: 1 }), { code: 'ERR_UNKNOWN_FIELD' });
  t.same(parseRestartPolicy('no'), { name: 'no' });
  t.same(parseRestartPolicy('unless-stopped'), { name: 'unless-stopped' });
  t.same(parseRestartPolicy('on-failure:5'), { name: 'on-failure', maximumRetryCount: 5 });
  t.throws(() => parseRestartPolicy('always:3'), { code: 'ERR_INVALID_ARG_VALUE', message: "maximum retry count cannot be used with restart policy 'always'" });
  t.throws(() => parseRestartPolicy('on-failure:x'), { message: /maximum retry count must be a number/ });
  t.throws(() => parseRestartPolicy('forever'), { message: /invalid restart policy format/ });
  t.throws(() => parseRestartPolicy('on-failure:1:2'), { message: /invalid restart policy format/ });
});
