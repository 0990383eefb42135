import type { VerbContext } from './verb.js';

/** The exit codes of a command ended by ctrl-C (128 + SIGINT) or by a reader that went away (128 + SIGPIPE). */
export const interruptedCode = 130;
export const brokenPipeCode = 141;

/**
 * Runs a verb that streams until its source ends (`logs -f`, `stats`) with a signal that ends it
 * early: SIGINT (ctrl-C) or stdout's reader going away (`taskio logs -f x | head`, EPIPE). It then
 * returns quietly, with the code a shell would show for a command those signals killed (130, 141)
 * instead of Node's default death or a stack trace about EPIPE.
 * @returns 0 when the stream ended by itself.
 */
export async function untilInterrupted(ctx: Pick<VerbContext, 'stdout'>, fn: (signal: AbortSignal) => Promise<unknown>): Promise<number> {
  const ac = new AbortController();
  let code = 0;
  let failure: Error | null = null;
  const onSigint = (): void => {
    code = interruptedCode;
    ac.abort();
  };
  const onError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') code = brokenPipeCode;
    else failure = err;
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  ctx.stdout.on('error', onError);
  try {
    await fn(ac.signal);
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    process.off('SIGINT', onSigint);
    ctx.stdout.off('error', onError);
  }
  if (failure) throw failure;
  return code;
}
