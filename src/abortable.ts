import { abortError } from './errors.js';

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
}

/** The waiters of each long-lived promise, settled by one reaction of its own. */
const waitersOf = new WeakMap<Promise<unknown>, Set<Waiter<unknown>>>();

/**
 * `p`, or an `AbortError` once `signal` aborts first. A waiter that gives up leaves nothing on `p`:
 * a `.then` per call would stay on it until it settles — a task's exit may be weeks away, and every
 * `wait` whose client went meanwhile kept its closures, its signal and its error until then.
 * All callers of one `p` share one reaction; each adds itself to its set and leaves at its abort.
 */
export function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError(signal));
  let waiters = waitersOf.get(p) as Set<Waiter<T>> | undefined;
  if (!waiters) {
    const all = new Set<Waiter<T>>();
    waitersOf.set(p, all as Set<Waiter<unknown>>);
    const settle = (each: (w: Waiter<T>) => void): void => {
      waitersOf.delete(p);
      for (const w of all) each(w);
      all.clear();
    };
    p.then((v) => settle((w) => w.resolve(v)), (err: unknown) => settle((w) => w.reject(err)));
    waiters = all;
  }
  const set = waiters;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      set.delete(waiter);
      reject(abortError(signal));
    };
    const waiter: Waiter<T> = {
      resolve: (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      reject: (err) => { signal.removeEventListener('abort', onAbort); reject(err); },
    };
    set.add(waiter);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
