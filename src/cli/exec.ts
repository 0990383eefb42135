import type { ExecHandle } from '../daemon/client.js';
import type { ExitRecord } from '../daemon/records.js';
import { withDaemon } from './daemonClient.js';
import { attachedSession, leftCode } from './session.js';
import { checkTty } from './checkTty.js';
import { consoleSizeOf, detachedConsoleSize } from './consoleSize.js';
import { commandEnv } from './envFile.js';
import type { VerbContext } from './verb.js';

/**
 * `taskio exec [-i] [-t] [-d] [-e K=V]… [-w DIR] [-u USER] TASK COMMAND [ARG...]`: runs another process in a
 * running task, as `docker exec`: attached, the command exits with the process's exit code (stdin
 * with `-i`, whose end closes the process's stdin; a terminal with `-t`, of this one's size; the
 * detach keys leave it running); with `-d` it returns once the process started (`-t`: of stdout's
 * size when that is a terminal).
 */
export async function exec(ctx: VerbContext): Promise<unknown> {
  const a = ctx.args;
  const [id, ...args] = a.operands as [string, ...string[]];
  const detach = a.bool('detach');
  const interactive = a.bool('interactive') && !detach;
  const tty = a.bool('tty');
  if (!detach) checkTty(interactive, tty, () => ctx.stdin);
  const env = commandEnv(a);
  const base = { args, terminal: tty, ...(env.length > 0 ? { env } : {}), ...(a.value('workdir') ? { cwd: a.value<string>('workdir')! } : {}),
    ...(a.given('user') ? { user: a.value<string>('user')! } : {}) };
  return withDaemon(ctx, async (client) => {
    if (detach) {
      await client.exec(id, { ...base, ...detachedConsoleSize(tty, ctx.stdout) });
      return 0;
    }
    let handle: ExecHandle | null = null;
    let exited: Promise<ExitRecord> | null = null;
    const end = await attachedSession(ctx, {
      stdin: interactive,
      tty,
      detachKeys: a.value<Buffer>('detach-keys'),
      resize: (size) => handle!.resize(size),
      connect: async ({ stdin, stdout, stderr, size }) => {
        // The process's terminal starts with this one's size, not 0x0 until the first resize.
        const h = await client.exec(id, { ...base, ...consoleSizeOf(tty, size), ...(stdin ? { stdin } : {}), stdout, ...(tty ? {} : { stderr }) });
        handle = h;
        // A detach leaves the process running: stop waiting for it, so this command can exit.
        const stop = new AbortController();
        exited = h.wait({ signal: stop.signal });
        return { done: exited, detach: () => { stop.abort(); void h.detach(); } };
      },
    });
    // A broken stdout leaves it too: the process gets EPIPE/SIGPIPE as its output FIFO lost its reader.
    return leftCode(end) ?? exited!;
  });
}
