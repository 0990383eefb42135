/**
 * The exit of an Init or an exec'd Process: the first status recorded wins, and {@link done}
 * resolves once, with it. A process deleted before it exited on its own records 137 (SIGKILL), the
 * status its end by delete amounts to.
 * @internal
 */
export class ExitRecord {
  #status = -1;
  #at: Date | null = null;
  readonly #done: Promise<void>;
  #resolve!: () => void;

  constructor() {
    this.#done = new Promise((resolve) => { this.#resolve = resolve; });
  }

  /** The status (code, or 128 + signal); -1 until recorded. */
  get status(): number {
    return this.#status;
  }

  /** When it was recorded, or null. */
  get at(): Date | null {
    return this.#at;
  }

  /** Resolves once a status is recorded. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Records `status` unless one already is; true when this one counted. */
  record(status: number): boolean {
    if (this.#at !== null) return false;
    this.#status = status;
    this.#at = new Date();
    this.#resolve();
    return true;
  }
}
