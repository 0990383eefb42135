import { exitCodeOf } from './exitCode.js';
import { withDaemon } from './daemonClient.js';
import { errorLine } from './command.js';
import type { VerbContext } from './verb.js';

/**
 * `taskio wait TASK [TASK...]`: blocks until each task exited and prints its exit code, one per
 * line in the order given, as `docker wait`. A task that cannot be waited for (unknown id) gets an
 * error line on stderr and the others are still waited for; the command then exits 125 (docker
 * exits 1 there; 125 is taskio's own-error code), else 0. An exit nobody saw prints 255.
 */
export async function wait(ctx: VerbContext): Promise<number> {
  return withDaemon(ctx, async (client) => {
    let failed = false;
    for (const id of ctx.args.operands) {
      try {
        const exit = await client.wait(id);
        ctx.stdout.write(`${exitCodeOf(exit)}\n`);
      } catch (err) {
        failed = true;
        ctx.stderr.write(errorLine(err, ctx.command, ctx.env));
      }
    }
    return failed ? 125 : 0;
  });
}
