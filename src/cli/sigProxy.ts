/** The signals `--sig-proxy` hands on: what docker's CLI forwards that a Node program can catch. */
const proxied = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** How many ctrl-Cs hand on to the task before the next one leaves it running and ends the command. */
const forwardedInterrupts = 2;

/**
 * docker's `--sig-proxy` (the default of `run` and `attach` without a terminal): a signal this
 * process receives is sent to the task instead of ending this process, so ctrl-C stops the task
 * and the command then exits with the task's code. A task whose pid 1 ignores SIGINT (no handler)
 * would leave the user stuck, so the third ctrl-C is not handed on: `onGiveUp` ends the command
 * and the task keeps running (what `--sig-proxy=false` does at the first). Returns the function
 * that stops proxying.
 * @param send - sends a signal to the task; a failure (the task just exited) is ignored.
 */
export function proxySignals(send: (signal: string) => Promise<void>, onGiveUp: () => void): () => void {
  let interrupts = 0;
  const handlers = proxied.map((name) => {
    const handler = (): void => {
      if (name === 'SIGINT' && ++interrupts > forwardedInterrupts) {
        onGiveUp();
        return;
      }
      void send(name).catch(() => undefined);
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return () => {
    for (const [name, handler] of handlers) process.off(name, handler);
  };
}
