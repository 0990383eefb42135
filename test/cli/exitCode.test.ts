import t from 'tap';
import { TaskioError } from '../../src/errors.js';
import { exitCodeOf } from '../../src/cli/exitCode.js';
import { UsageError } from '../../src/cli/flags.js';

t.test('exit codes by docker\'s rules', async (t) => {
  t.equal(exitCodeOf(0), 0);
  t.equal(exitCodeOf(7), 7, 'the task\'s code');
  t.equal(exitCodeOf(255), 255);
  t.equal(exitCodeOf(256), 125, 'not an exit code: taskio\'s own error');
  t.equal(exitCodeOf(1.5), 125);
  t.equal(exitCodeOf({ exitCode: 3 }), 3);
  t.equal(exitCodeOf({ exitCode: null, signal: 'SIGKILL' }), 137, '128 + n for a signal');
  t.equal(exitCodeOf({ exitCode: null, signal: 'TERM' }), 143);
  t.equal(exitCodeOf({ exitCode: null, signal: 2 }), 130);
  t.equal(exitCodeOf({ exitCode: null, signal: null }), 255, 'an exit nobody saw: containerd\'s unknown status');
  t.equal(exitCodeOf({ exitCode: null }), 255);
  t.equal(exitCodeOf({ exitCode: null, signal: 'SIGBOGUS' }), 255);
  t.equal(exitCodeOf(new UsageError('taskio run', 'unknown flag: --x')), 125);
  t.equal(exitCodeOf(new TaskioError('ERR_NOT_FOUND', 'no such task: x')), 125);
  t.equal(exitCodeOf(new Error('anything')), 125);
  t.equal(exitCodeOf('a string'), 125);
  t.equal(exitCodeOf(undefined), 125);
  t.equal(exitCodeOf(new TaskioError('ERR_COMMAND_NOT_FOUND', 'x: not found')), 127);
  t.equal(exitCodeOf(new TaskioError('ERR_COMMAND_NOT_EXECUTABLE', 'x: permission denied')), 126);
});

t.test('a failed start is read as docker reads it; other errors are not', async (t) => {
  const notFound = new Error('exec: "nosuch": executable file not found in $PATH');
  const noFile = new Error('starting container process caused: exec: "/x": stat /x: no such file or directory');
  const denied = new Error('exec /etc/passwd: permission denied');
  const dir = new Error('exec /etc: is a directory');
  t.equal(exitCodeOf(notFound, { starting: true }), 127);
  t.equal(exitCodeOf(noFile, { starting: true }), 127);
  t.equal(exitCodeOf(denied, { starting: true }), 126);
  t.equal(exitCodeOf(dir, { starting: true }), 126);
  t.equal(exitCodeOf(new Error('runsc: sandbox failed'), { starting: true }), 125);
  t.equal(exitCodeOf(noFile), 125, 'without starting, it is taskio\'s own error');
});
