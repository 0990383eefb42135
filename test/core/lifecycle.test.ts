import t from 'tap';
import { Lifecycle, refuse, type Transitions } from '../../src/lifecycle.js';

t.setTimeout(10_000);

type S = 'created' | 'running' | 'stopped' | 'deleted';
type Op = 'start' | 'kill' | 'delete' | 'exit' | 'stats';
const table: Transitions<S, Op> = {
  start: { created: 'running', running: refuse('cannot start a running container') },
  kill: { created: null, running: null },
  delete: { created: 'deleted', stopped: 'deleted' },
  exit: { created: 'stopped', running: 'stopped' },
  stats: { running: null },
};

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

t.test('operations run one at a time, in call order, each checked when its turn comes', async (t) => {
  const lc = new Lifecycle<S, Op>('created', table, 'container');
  const order: string[] = [];
  const gate = deferred();
  const start = lc.run('start', async (from) => { order.push(`start from ${from}`); await gate.promise; order.push('start done'); });
  const stats = lc.run('stats', (from) => { order.push(`stats from ${from}`); return 42; });
  const start2 = lc.run('start', () => { order.push('second start ran'); });
  t.equal(lc.state, 'created', 'nothing moves before the operation finishes');
  gate.resolve();
  await start;
  t.equal(await stats, 42);
  await t.rejects(start2, { code: 'ERR_INVALID_STATE', message: 'cannot start a running container' });
  t.same(order, ['start from created', 'start done', 'stats from running']);
  t.equal(lc.state, 'running');
});

t.test('an unlisted state gets the generic refusal', async (t) => {
  const lc = new Lifecycle<S, Op>('created', table, 'container');
  await t.rejects(lc.run('stats', () => 1), { code: 'ERR_INVALID_STATE', message: 'cannot stats a created container' });
  t.throws(() => lc.check('stats'), { code: 'ERR_INVALID_STATE' });
  t.equal(lc.allows('start'), true);
  t.equal(lc.allows('stats'), false);
});

t.test('a failed operation leaves the state and does not stop the queue', async (t) => {
  const lc = new Lifecycle<S, Op>('created', table, 'container');
  const failing = lc.run('start', () => { throw new Error('runtime failed'); });
  const next = lc.run('start', () => 'ok');
  await t.rejects(failing, { message: 'runtime failed' });
  t.equal(await next, 'ok');
  t.equal(lc.state, 'running');
});

t.test('an event during an operation wins over the operation\'s target state', async (t) => {
  const lc = new Lifecycle<S, Op>('created', table, 'container');
  const gate = deferred();
  const start = lc.run('start', () => gate.promise);
  await Promise.resolve();
  await Promise.resolve();
  t.equal(lc.apply('exit'), true, 'the exit applies at once, outside the queue');
  t.equal(lc.state, 'stopped');
  gate.resolve();
  await start;
  t.equal(lc.state, 'stopped', 'start does not overwrite the exit');
  t.equal(lc.apply('exit'), false, 'a second exit is refused (ignored)');
});

t.test('an operation may wait for an event without deadlocking', async (t) => {
  const lc = new Lifecycle<S, Op>('running', table, 'container');
  let exited!: () => void;
  const exit = new Promise<void>((r) => { exited = r; });
  const kill = lc.run('kill', async () => { setImmediate(() => { lc.apply('exit'); exited(); }); await exit; });
  await kill;
  t.equal(lc.state, 'stopped');
  t.equal(lc.state, 'stopped');
  await lc.run('delete', () => undefined);
  t.equal(lc.state, 'deleted');
});

t.test('an operation calling its own object fails instead of waiting forever', async (t) => {
  const lc = new Lifecycle<S, Op>('running', table, 'container');
  const other = new Lifecycle<S, Op>('running', table, 'process');
  let later: Promise<unknown> = Promise.resolve();
  await lc.run('kill', async () => {
    await t.rejects(lc.run('stats', () => 1), { code: 'ERR_REENTRANT_OPERATION' });
    t.equal(await other.run('stats', () => 7), 7, 'another object\'s operation is fine');
    // Work the operation leaves behind runs after it finished: no longer re-entrant.
    later = new Promise((r) => setImmediate(r)).then(() => lc.run('stats', () => 'after'));
  });
  t.equal(await later, 'after');
});

t.test('an event during an operation: the rule of the state it left decides', async (t) => {
  const lc = new Lifecycle<S, Op>('created', table, 'container');
  const gate = deferred();
  const del = lc.run('delete', () => gate.promise);
  await Promise.resolve();
  await Promise.resolve();
  t.equal(lc.apply('exit'), true);
  t.equal(lc.state, 'stopped');
  gate.resolve();
  await del;
  t.equal(lc.state, 'deleted', 'delete is allowed from stopped too, so it still ends deleted');
});

t.test('a refusal may carry its own code and error class', async (t) => {
  class FacadeError extends Error {
    constructor(readonly code: string, message: string) { super(message); }
  }
  const custom: Transitions<S, Op> = { ...table, stats: { running: null, stopped: refuse('cannot stat: it is stopped', 'ERR_NOT_RUNNING') } };
  const lc = new Lifecycle<S, Op>('stopped', custom, 'container', { error: (code, message) => new FacadeError(code, message) });
  const err = await lc.run('stats', () => 1).catch((e: unknown) => e);
  t.ok(err instanceof FacadeError);
  t.match(err, { code: 'ERR_NOT_RUNNING', message: 'cannot stat: it is stopped' });
  t.throws(() => lc.check('start'), { code: 'ERR_INVALID_STATE', message: 'cannot start a stopped container' });
});
