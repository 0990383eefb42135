import type { VerbContext } from './verb.js';

/**
 * `taskio daemon [--root DIR]`: runs the daemon in the foreground until SIGTERM or SIGINT, like
 * `dockerd`. Its own exit codes are a daemon's, not a client verb's: 1 when it cannot start (a root
 * that is not safe), 3 when another daemon already serves the root.
 *
 * The process started so is the daemon's exit recorder (`exitRecorder.ts`), which starts the daemon
 * itself as its child with the same command, told apart by `TASKIO_EXIT_RECORDER` in its
 * environment; the recorder exits with the daemon's code once no task of that daemon is left.
 */
export async function daemon(ctx: VerbContext): Promise<void> {
  const root = ctx.args.value<string>('root');
  const { exitRecorderEnv } = await import('../daemon/recordedExits.js');
  if (process.env[exitRecorderEnv] === undefined) {
    const [{ runExitRecorder }, { defaultDaemonRoot }] = await Promise.all([import('../daemon/exitRecorder.js'), import('../daemon/layout.js')]);
    runExitRecorder(root ?? defaultDaemonRoot());
    return;
  }
  const { runDaemonMain } = await import('../daemon/daemon.js');
  // Returns once the daemon serves; its server keeps the process alive until it stops and exits.
  await runDaemonMain(root);
}
