/** The facade's pure parts: error mapping, state mapping, process config checks and inheritance. */
import t from 'tap';
import { TaskioError } from '../../../src/errors.js';
import { ContainerError, ErrorCode } from '../../../src/runtime/container/index.js';
import { toContainerError } from '../../../src/runtime/container/errors.js';
import { containerTable, type ContainerOp, type ContainerState } from '../../../src/runtime/container/runState.js';
import { Lifecycle } from '../../../src/lifecycle.js';
import { processSpecOf } from '../../../src/runtime/container/processConfig.js';
import type { OciSpec } from '../../../src/runtime/oci/index.js';

t.test('errors of the layer below map to libcontainer codes, with the cause kept', async (t) => {
  const cases: Array<[string, string]> = [
    ['ERR_ALREADY_EXISTS', ErrorCode.IdInUse], ['ERR_INVALID_ID', ErrorCode.InvalidIdFormat],
    ['ERR_INVALID_BUNDLE', ErrorCode.ConfigInvalid], ['ERR_INVALID_ARG_VALUE', ErrorCode.ConfigInvalid], ['ERR_UNSAFE_DIR', ErrorCode.ConfigInvalid],
    // The caller's stdio: a bad URI or log option, a symlink or FIFO planted where the log goes.
    ['ERR_INVALID_ARG_TYPE', ErrorCode.ConfigInvalid], ['ERR_UNKNOWN_STDIO_SCHEME', ErrorCode.ConfigInvalid],
    ['ERR_INVALID_LOG_URI', ErrorCode.ConfigInvalid], ['ERR_INVALID_LOG_OPTION', ErrorCode.ConfigInvalid], ['ERR_NOT_REGULAR_FILE', ErrorCode.ConfigInvalid],
    ['ERR_RUNTIME', ErrorCode.SystemError], ['ERR_INVALID_STATE', ErrorCode.SystemError], ['EACCES', ErrorCode.SystemError],
  ];
  for (const [from, to] of cases) {
    const cause = new TaskioError(from, 'below');
    const err = toContainerError(cause, 'do it');
    t.ok(err instanceof ContainerError, from);
    t.match(err, { code: to, message: 'do it: below', cause }, `${from} → ${to}`);
  }
  t.match(toContainerError('text', 'x'), { code: ErrorCode.SystemError, message: 'x: text' });
  const mine = new ContainerError(ErrorCode.ContainerPaused, 'paused');
  t.equal(toContainerError(mine, 'x'), mine, 'a facade error passes through');
  const esrch = Object.assign(new Error('gone'), { code: 'ESRCH' });
  t.equal(toContainerError(esrch, 'x'), esrch, 'ESRCH passes through');
  t.equal(new Set(Object.values(ErrorCode)).size, Object.keys(ErrorCode).length, 'codes are distinct');
});

t.test('the container\'s transition table: libcontainer\'s codes, idempotent pause/resume/destroy', async (t) => {
  const make = (state: ContainerState) => new Lifecycle<ContainerState, ContainerOp>(state, containerTable('c1'), 'container', {
    error: (code, message) => new ContainerError(code as never, message),
  });
  const refused = (state: ContainerState, op: ContainerOp, code: string) => {
    t.throws(() => make(state).check(op), { code, name: 'ContainerError', message: /container c1: it is/ }, `${op} in ${state} → ${code}`);
  };
  for (const op of ['processes', 'stats', 'startProcess', 'signal', 'pause', 'resume'] as const) refused('destroyed', op, ErrorCode.ContainerDestroyed);
  for (const op of ['stats', 'startProcess', 'pause', 'resume'] as const) refused('stopped', op, ErrorCode.ContainerNotRunning);
  for (const op of ['startProcess', 'signal'] as const) refused('paused', op, ErrorCode.ContainerPaused);
  for (const [state, op] of [['paused', 'pause'], ['running', 'resume'], ['destroyed', 'destroy'], ['stopped', 'signal'], ['stopped', 'processes']] as const) {
    t.doesNotThrow(() => make(state).check(op), `${op} in ${state} is allowed`);
  }
  const lc = make('paused');
  t.equal(lc.apply('exit'), true);
  t.equal(lc.state, 'stopped', 'the init\'s exit stops a paused container');
  t.equal(lc.apply('exit'), false, 'a second exit changes nothing');
  await lc.run('destroy', () => undefined);
  t.equal(lc.state, 'destroyed');
});

t.test('process configs: checked, and what is unset comes from the container', async (t) => {
  const container = {
    process: { args: ['init'], env: ['PATH=/bin', 'A=1'], cwd: '/work', user: { uid: 1, gid: 2 }, capabilities: { bounding: ['CAP_KILL'] }, terminal: true },
  } as unknown as OciSpec;
  const spec = processSpecOf({ args: ['sh', '-c', 'x'] }, container);
  t.same(spec, { args: ['sh', '-c', 'x'], env: ['PATH=/bin', 'A=1'], cwd: '/work', user: { uid: 1, gid: 2 }, capabilities: { bounding: ['CAP_KILL'] }, terminal: false });
  const own = processSpecOf({ args: ['ls'], env: ['B=2'], cwd: '/', user: { uid: 0, gid: 0 }, terminal: true }, container);
  t.match(own, { env: ['B=2'], cwd: '/', user: { uid: 0, gid: 0 }, terminal: true });
  spec.env!.push('C=3');
  t.same(container.process.env, ['PATH=/bin', 'A=1'], 'the container spec is not shared');
  for (const bad of [
    { args: [] }, { args: [''] }, { args: [1] }, { args: ['x'], env: ['NOEQ'] }, { args: ['x'], cwd: 'rel' },
    { args: ['x'], user: { uid: -1, gid: 0 } }, { args: ['x'], stdout: 3 }, null,
    // Not a TypeError from reading it, and nothing runsc or runc would cut at a NUL or refuse as opaque JSON.
    { args: ['x'], user: null }, { args: ['x'], user: 0 }, { args: ['x'], user: { uid: 0, gid: 2 ** 32 } }, { args: ['x'], user: { uid: 0, gid: 0, additionalGids: ['x'] } },
    { args: ['echo', 'a\0b'] }, { args: ['x'], env: ['A=\0'] }, { args: ['x'], cwd: '/\0x' }, { args: ['x'], terminal: 'yes' }, 'args',
  ]) {
    t.throws(() => processSpecOf(bad as never, container), { code: ErrorCode.ConfigInvalid }, JSON.stringify(bad));
  }
});
