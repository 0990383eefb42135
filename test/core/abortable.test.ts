import t from 'tap';
import v8 from 'node:v8';
import vm from 'node:vm';
import { abortable } from '../../src/abortable.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** One waiter on `p` that gives up; a weak reference to its signal. */
async function giveUp(p: Promise<unknown>): Promise<WeakRef<AbortSignal>> {
  const ac = new AbortController();
  const ref = new WeakRef(ac.signal);
  const w = abortable(p, ac.signal);
  ac.abort();
  await w.catch((err: Error) => { if (err.name !== 'AbortError') throw err; });
  return ref;
}

t.test('waiters that gave up leave nothing on a promise that never settles', { timeout: 30_000 }, async (t) => {
  const never = new Promise<number>(() => undefined);
  const refs: WeakRef<AbortSignal>[] = [];
  for (let i = 0; i < 100; i += 1) refs.push(await giveUp(never));
  for (let i = 0; i < 3; i += 1) {
    await new Promise((r) => setImmediate(r));
    gc(); // a full collection, synchronous: what is still reachable stays, whatever the load
  }
  // A reaction per waiter on `never` (what a task's wait did) kept all 100 signals and closures.
  // The last one or so may still sit in V8's own references at this point.
  const alive = refs.filter((r) => r.deref() !== undefined).length;
  t.ok(alive < 10, `the signals of the waiters that gave up are collected (${alive} of 100 alive)`);
});

t.test('the others get the value or the error; an aborted signal rejects at once', { timeout: 10_000 }, async (t) => {
  let settle!: (v: number) => void;
  const p = new Promise<number>((resolve) => { settle = resolve; });
  const gaveUp = new AbortController();
  const kept = [abortable(p, new AbortController().signal), abortable(p, gaveUp.signal), abortable(p, new AbortController().signal), abortable(p)];
  gaveUp.abort();
  settle(7);
  const got = await Promise.allSettled(kept);
  t.same(got.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).name)), [7, 'AbortError', 7, 7]);
  await t.rejects(abortable(Promise.reject(new Error('boom')), new AbortController().signal), { message: 'boom' });
  await t.rejects(abortable(p, AbortSignal.abort()), { name: 'AbortError' });
});
