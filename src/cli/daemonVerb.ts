import type { VerbContext } from './verb.js';

/**
 * `taskio daemon [--root DIR]`: runs the daemon in the foreground until SIGTERM or SIGINT, like
 * `dockerd`. Its own exit codes are a daemon's, not a client verb's: 1 when it cannot start (a root
 * that is not safe), 3 when another daemon already serves the root.
 */
export async function daemon(ctx: VerbContext): Promise<void> {
  const { runDaemonMain } = await import('../daemon/daemon.js');
  // Returns once the daemon serves; its server keeps the process alive until it stops and exits.
  await runDaemonMain(ctx.args.value<string>('root'));
}
