/** The first and the longest pause between two looks at a draining pipe, in ms. */
const FIRST = 2, LONGEST = 50;

/**
 * Resolves once `done()` is true, looking again on a timer backoff; resolves early (without
 * rejecting) when `signal` aborts, since the caller then closes whatever was draining anyway.
 * A pipe has no "became empty" event (`EPOLLOUT` means "has room"), so a look is all there is.
 */
export function pollUntil(done: () => boolean, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    let delay = FIRST;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      resolve();
    };
    const look = (): void => {
      let ok = true;
      try {
        ok = signal.aborted || done();
      } catch {
        ok = true; // the fd is gone: nothing is left to drain
      }
      if (ok) return finish();
      timer = setTimeout(look, delay);
      delay = Math.min(delay * 2, LONGEST);
    };
    signal.addEventListener('abort', finish, { once: true });
    look();
  });
}
