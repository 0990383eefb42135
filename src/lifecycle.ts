import { AsyncLocalStorage } from 'node:async_hooks';
import { TaskioError } from './errors.js';

/** A refusal: the operation fails in this state with this message and `code` (default `ERR_INVALID_STATE`). */
export interface Refusal {
  readonly refuse: string;
  readonly code?: string;
}

/**
 * What an operation does in one state: move to that state once it succeeds, `null` to run and
 * leave the state as it is, or a {@link Refusal}.
 */
export type Rule<S extends string> = S | null | Refusal;

/**
 * The transition table `operation × state → rule`. A state an operation does not list refuses
 * it with `cannot <op> a <state> <noun>`, gVisor shim's wording.
 */
export type Transitions<S extends string, Op extends string> = Record<Op, Partial<Record<S, Rule<S>>>>;

/** Builds a {@link Refusal}; `code` defaults to `ERR_INVALID_STATE`. */
export function refuse(message: string, code?: string): Refusal {
  return code === undefined ? { refuse: message } : { refuse: message, code };
}

/** Options of a {@link Lifecycle}. */
export interface LifecycleOptions {
  /**
   * Makes the error of a refusal (a facade with its own error class, such as the container's).
   * Default: a `TaskioError` with the refusal's code and message.
   */
  error?: (code: string, message: string) => Error;
}

interface Running {
  readonly owner: object;
  done: boolean;
}

// Which operations the current async context runs inside, to turn a self-deadlock (an operation
// awaiting another operation of the same object) into an error.
const inside = new AsyncLocalStorage<readonly Running[]>();

/**
 * The state of one lifecycle object (an Init, an exec'd Process, a host task, a Container, a
 * daemon task) and the queue its operations run through — the Node counterpart of gVisor's
 * `p.mu` with one state object per state in `init_state.go`:
 *
 * 1. Operations run one at a time in call order ({@link run}); one that is refused or fails does
 *    not stop the next.
 * 2. An operation is checked against the table when its turn comes, not when it is called, so a
 *    `start` queued behind a `delete` sees `deleted` and is refused.
 * 3. An operation that succeeds moves to its rule's state. When an event moved the object while it
 *    ran, the rule is taken again from the state the event left: a refusal or `null` there keeps
 *    that state (an exit during `start` leaves it `stopped`, not `running`), a target state still
 *    applies (an exit during `delete` of a created container still ends `deleted`).
 * 4. An operation that throws leaves the state as it was.
 * 5. Events ({@link apply}: an exit reaped, a process gone) are not queued: they change the state
 *    at once, so an operation that waits for an exit cannot wait for itself.
 * 6. An operation that calls {@link run} on its own object would wait forever; that fails at once
 *    with `ERR_REENTRANT_OPERATION` — call the unqueued internals instead.
 */
export class Lifecycle<S extends string, Op extends string> {
  readonly #table: Transitions<S, Op>;
  readonly #noun: string;
  readonly #error: (code: string, message: string) => Error;
  #state: S;
  #tail: Promise<unknown> = Promise.resolve();

  /** @param noun - what the object is called in messages (`container`, `process`, `task`). */
  constructor(initial: S, table: Transitions<S, Op>, noun: string, options: LifecycleOptions = {}) {
    this.#state = initial;
    this.#table = table;
    this.#noun = noun;
    this.#error = options.error ?? ((code, message) => new TaskioError(code, message));
  }

  /** The current state. */
  get state(): S {
    return this.#state;
  }

  /** True when `op` would be accepted in the current state (it may still be refused once its turn comes). */
  allows(op: Op): boolean {
    const rule = this.#rule(op, this.#state);
    return rule === null || typeof rule === 'string';
  }

  /**
   * Queues operation `op`; when its turn comes, checks it against the table and runs `fn` with the
   * state it starts from.
   * @throws the refusal's error (`ERR_INVALID_STATE` with the table's message unless the table
   * gives another code); whatever `fn` throws.
   */
  run<T>(op: Op, fn: (from: S) => Promise<T> | T): Promise<T> {
    const chain = inside.getStore();
    if (chain?.some((r) => r.owner === this && !r.done)) {
      return Promise.reject(new TaskioError('ERR_REENTRANT_OPERATION', `${op} was called on a ${this.#noun} from inside one of its own operations`));
    }
    const turn = this.#tail.then(() => {
      const from = this.#state;
      const rule = this.#rule(op, from);
      if (rule !== null && typeof rule !== 'string') throw this.#refusal(rule);
      const me: Running = { owner: this, done: false };
      return inside.run([...(chain ?? []), me], async () => {
        try {
          const result = await fn(from);
          if (rule !== null) {
            // An event moved the object meanwhile: the rule of where it is now decides.
            const now = this.#state === from ? rule : this.#rule(op, this.#state);
            if (typeof now === 'string') this.#state = now;
          }
          return result;
        } finally {
          me.done = true;
        }
      });
    });
    this.#tail = turn.catch(() => undefined);
    return turn;
  }

  /**
   * Applies event `op` at once, outside the queue.
   * @returns true when the table allows it in the current state (and the state moved if the rule
   * names one); false when it is refused, which for events means "ignore it" (a second exit).
   */
  apply(op: Op): boolean {
    const rule = this.#rule(op, this.#state);
    if (rule !== null && typeof rule !== 'string') return false;
    if (rule !== null) this.#state = rule;
    return true;
  }

  /**
   * Checks `op` against the current state without running anything.
   * @throws the refusal's error (`ERR_INVALID_STATE` unless the table says otherwise).
   */
  check(op: Op): void {
    const rule = this.#rule(op, this.#state);
    if (rule !== null && typeof rule !== 'string') throw this.#refusal(rule);
  }

  #refusal(r: Refusal): Error {
    return this.#error(r.code ?? 'ERR_INVALID_STATE', r.refuse);
  }

  #rule(op: Op, state: S): Rule<S> {
    const rule = this.#table[op][state];
    return rule === undefined ? refuse(`cannot ${op} a ${state} ${this.#noun}`) : rule;
  }
}
