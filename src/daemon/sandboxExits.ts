import type { Runsc } from '../runtime/oci/index.js';

/**
 * How long a status is waited for once the sandbox is seen gone. The sandbox tells `runsc wait` the
 * status as the init exits, but a wait that is not the sandbox's parent prints it only once the
 * sandbox process is reaped — by its new parent, which may take its time (this machine kind's init
 * reaps orphans up to 2 s late) — checking every 100 ms and giving up 5 s after the answer
 * (measured: runsc 2022-12-19). Longer than that, so it bounds only a wait that hangs: every other
 * ends by itself, with the status or without one (a sandbox killed from outside).
 */
const statusGraceMs = 10_000;

/**
 * The exit statuses of adopted runsc tasks. A task adopted after a daemon restart is not this
 * daemon's child: its status goes to the process it was re-parented to, and {@link PidWatch} sees
 * only that it exited. gVisor's sandbox, though, tells its container's status to any process that
 * asks (`runsc wait`), so one `runsc wait` per adopted running runsc task — a Go process of about
 * 17 MB, as containerd's runsc shim is one per task — is started at adoption, and its answer is the
 * task's exit. {@link close} (daemon shutdown) ends them all; the next daemon starts its own.
 */
export class SandboxExits {
  /** Each wait running: how to end it, and its end (the `runsc wait` process gone). */
  readonly #waits = new Map<AbortController, Promise<unknown>>();
  #closed = false;

  /**
   * Starts waiting for the status of runsc task `id`. The function returned gives it once the task
   * was seen to exit: the status (code, or 128 + signal), or null when the sandbox could not tell it
   * (it was killed, or the wait could not start). `unwatch` aborted: the wait ends.
   */
  wait(runsc: Runsc, id: string, unwatch?: AbortSignal): () => Promise<number | null> {
    if (this.#closed || unwatch?.aborted) return () => Promise.resolve(null);
    const ac = new AbortController();
    unwatch?.addEventListener('abort', () => ac.abort(), { once: true });
    const status = runsc.wait(id, { signal: ac.signal }).catch(() => null).finally(() => this.#waits.delete(ac));
    this.#waits.set(ac, status);
    return async () => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), statusGraceMs); });
      try {
        return await Promise.race([status, late]);
      } finally {
        clearTimeout(timer);
        ac.abort(); // a wait that did not answer in time has nothing to tell any more
      }
    };
  }

  /**
   * Daemon shutdown: every wait ends (its task runs on). Resolves once their `runsc wait` processes
   * are gone (a runtime call settles only after its process was reaped), so that a daemon that
   * stopped leaves no child of its own behind.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const ending = [...this.#waits.values()];
    for (const ac of this.#waits.keys()) ac.abort();
    await Promise.all(ending);
  }
}
