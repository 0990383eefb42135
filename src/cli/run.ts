import { TaskioError } from '../errors.js';
import { isConnectError, type DaemonClient } from '../daemon/client.js';
import type { CreateTaskRequest } from '../daemon/createRequest.js';
import type { TaskMount } from '../daemon/mounts.js';
import type { ExitRecord } from '../daemon/records.js';
import type { RestartPolicy } from '../daemon/restartPolicy.js';
import { withDaemon } from './daemonClient.js';
import { attachTask, createAndAttach } from './attach.js';
import { CidFile } from './cidFile.js';
import { checkTty } from './checkTty.js';
import { detachedConsoleSize } from './consoleSize.js';
import { commandEnv } from './envFile.js';
import { leftCode } from './session.js';
import type { ShownOutput } from './outputStreams.js';
import { commandLimits } from './limits.js';
import { commandHealthcheck } from './health.js';
import { commandLog } from './logDriver.js';
import type { ParsedArgs } from './flags.js';
import type { VerbContext } from './verb.js';
import { waitBeside } from './waitBeside.js';

/**
 * The task's command: docker's `--entrypoint` (one executable, never split; `""` is none) before
 * the operands. A task has no image, so without the flag the operands are all of it.
 * @throws TaskioError `ERR_INVALID_ARG_VALUE` when nothing is left to run (`--entrypoint ""` alone).
 */
function commandArgs(a: ParsedArgs): string[] {
  const entrypoint = a.value('entrypoint');
  const args = entrypoint ? [entrypoint, ...a.operands] : a.operands;
  if (args.length === 0) throw new TaskioError('ERR_INVALID_ARG_VALUE', 'no command specified: --entrypoint "" and no COMMAND');
  return args;
}

/**
 * The output `run -a` shows, as docker's CLI: both streams without the flag, else those named.
 * stdin is attached by `-i` alone (docker's `-i` attaches it whatever `-a` says, and without `-i`
 * the task has no stdin to attach to).
 */
function shownOutput(a: ParsedArgs): ShownOutput | undefined {
  const streams = a.list<string>('attach');
  return streams.length === 0 ? undefined : { stdout: streams.includes('stdout'), stderr: streams.includes('stderr') };
}

/** The `POST /tasks` body of a `run` command line. */
function createRequest(a: ParsedArgs): CreateTaskRequest {
  const limits = commandLimits(a);
  const env = commandEnv(a);
  // docker's order: -v, then --tmpfs, then --mount; the daemon refuses two at one place.
  const mounts = [...a.list<TaskMount>('volume'), ...a.list<TaskMount>('tmpfs'), ...a.list<TaskMount>('mount')];
  const restart = a.value<RestartPolicy>('restart')!;
  const opt = <K extends keyof CreateTaskRequest>(key: K, value: CreateTaskRequest[K] | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    args: commandArgs(a),
    ...opt('id', a.value('name')),
    ...opt('runtime', a.value<CreateTaskRequest['runtime']>('runtime')),
    ...opt('rootfs', a.value('rootfs')),
    ...opt('bundle', a.value('bundle')),
    ...commandLog(a),
    ...opt('cwd', a.value('workdir')),
    ...opt('user', a.value('user')),
    ...(mounts.length > 0 ? { mounts } : {}),
    ...(a.bool('read-only') ? { readonlyRootfs: true } : {}),
    ...opt('hostname', a.value('hostname')),
    ...opt('network', a.value<CreateTaskRequest['network']>('network')),
    ...(a.bool('init') ? { init: true } : {}),
    ...(a.list('ulimit').length > 0 ? { ulimits: a.list('ulimit') } : {}),
    ...(a.list('label').length > 0 ? { labels: Object.fromEntries(a.list<[string, string]>('label')) } : {}),
    ...(a.list('cap-add').length > 0 ? { capAdd: a.list('cap-add') } : {}),
    ...(a.list('cap-drop').length > 0 ? { capDrop: a.list('cap-drop') } : {}),
    ...(a.bool('privileged') ? { privileged: true } : {}),
    ...(a.list('security-opt').length > 0 ? { securityOpt: a.list('security-opt') } : {}),
    ...(restart.name !== 'no' ? { restartPolicy: restart } : {}),
    ...opt('stopSignal', a.value('stop-signal')),
    ...opt('stopTimeout', a.value('stop-timeout')),
    ...(env.length > 0 ? { env } : {}),
    terminal: a.bool('tty'),
    stdin: a.bool('interactive'),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
    ...commandHealthcheck(a),
  };
}

/**
 * The request of `run` or `create`, `--rm` as `autoRemove`, with `-t` the size of the command's
 * stdout when it is a terminal (an attached `run` sends its session's instead); refused:
 * `--restart` with `--rm`.
 */
function checkedRequest(ctx: VerbContext): CreateTaskRequest {
  const a = ctx.args;
  const req = { ...createRequest(a), ...(a.bool('rm') ? { autoRemove: true } : {}), ...detachedConsoleSize(a.bool('tty'), ctx.stdout) };
  if (req.autoRemove && req.restartPolicy) throw new TaskioError('ERR_INVALID_ARG_VALUE', 'conflicting options: --restart and --rm');
  return req;
}

/**
 * Runs `fn` — the command's part once its flags were checked — with `--cidfile`'s file made first
 * ({@link CidFile}): `made(id)` writes the task's id into it; a file that got none is removed at
 * the end. Without the flag, `made` does nothing.
 */
async function withCidFile<T>(a: ParsedArgs, fn: (made: (id: string) => void) => Promise<T>): Promise<T> {
  const file = a.value('cidfile');
  const cid = file === undefined ? null : CidFile.create(file);
  try {
    return await fn((id) => cid?.write(id));
  } finally {
    cid?.close();
  }
}

/**
 * `taskio create [OPTIONS] [--] COMMAND [ARG...]`: as `docker create`, makes the task with `run`'s
 * flags without starting it, and prints its id; `taskio start` runs it. It is `created` until then
 * (`ps -a`), its limits and policy can still change (`update`), and a `wait` waits for its first run.
 */
export function create(ctx: VerbContext): Promise<number> {
  const req = { ...checkedRequest(ctx), start: false };
  return withCidFile(ctx.args, (made) => withDaemon(ctx, async (client) => {
    const { id } = await client.createTask(req);
    made(id);
    ctx.stdout.write(`${id}\n`);
    return 0;
  }));
}

/**
 * `taskio run [OPTIONS] [--] COMMAND [ARG...]`: creates and starts a task, then, as `docker run`,
 * either prints its id (`-d`) or attaches to it — the output from its very start (the log is
 * replayed), stdin with `-i` (its end closes the task's stdin), the terminal with `-t` — and exits
 * with the task's exit code. `--rm` is docker's AutoRemove: the daemon removes the task once it
 * exited, also after a detach, with `-d`, or when this command was killed; attached, the command
 * returns once the task is gone.
 */
export async function run(ctx: VerbContext): Promise<unknown> {
  const a = ctx.args;
  const detach = a.bool('detach');
  if (detach && a.given('detach-keys')) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', 'conflicting options: --detach-keys and --detach (nothing is attached)');
  }
  if (detach && a.given('attach')) throw new TaskioError('ERR_INVALID_ARG_VALUE', 'conflicting options: -a and -d');
  const req = checkedRequest(ctx);
  const rm = req.autoRemove === true;
  if (!detach) checkTty(a.bool('interactive'), a.bool('tty'), () => ctx.stdin);
  const attach = { stdin: req.stdin === true, closeStdin: true, logs: true, detachKeys: a.value<Buffer>('detach-keys'), sigProxy: a.bool('sig-proxy'), output: shownOutput(a) };
  return withCidFile(a, (made) => withDaemon(ctx, async (client) => {
    let id: string | null = null;
    try {
      if (detach || req.log === 'none') {
        const task = await client.createTask(req);
        id = task.id;
        made(id);
        if (detach) {
          ctx.stdout.write(`${task.id}\n`);
          return 0;
        }
        // FIFO mode: the cio attach is this process's own, on the task's FIFO set.
        const left = leftCode(await attachTask(ctx, client, task, attach));
        if (left !== null) return left;
      } else {
        // Log mode: created, started and attached in one round trip. The exit comes after the
        // output in the same stream (once the task is removed, with --rm). A terminal's stream is
        // raw: there the wait is asked at once on another connection, its answer there as the
        // output ends (the daemon removes a --rm task only once this attach ended).
        let stopWait = (): void => undefined;
        let exit: Promise<ExitRecord | null> | null = null;
        try {
          const end = await createAndAttach(ctx, client, req, attach, (task) => {
            id = task.id;
            if (req.terminal) {
              const beside = waitBeside(client, task.id, rm);
              stopWait = beside.stop;
              exit = beside.exit;
            } else {
              exit = task.exit;
              exit.catch(() => undefined); // awaited below, unless detached
            }
            made(task.id);
          });
          const left = leftCode(end);
          if (left !== null || exit === null) return left ?? 0;
          const record = await exit;
          if (record !== null) return record;
        } finally {
          stopWait();
        }
        // No exit in the stream: a daemon from before the exit frame, or one that went away under
        // it (SIGKILL). Asked of a daemon that runs, never of one started for it: that one would
        // wait, silently, for the next exit of a task whose output no longer comes here.
        return await client.wait(id!, { ...(rm ? { condition: 'removed' as const } : {}), startDaemon: false }).catch((err: unknown) => {
          // Refused (gone), or reset (the connection kept from before died with it).
          if (!daemonGone(err)) throw err;
          throw new TaskioError('ERR_NO_DAEMON', `the daemon went away before task ${id!} exited (the next daemon, which any command starts, takes it over)`, { cause: err });
        });
      }
      return await client.wait(id!, rm ? { condition: 'removed' } : {});
    } catch (err) {
      if (rm && id !== null && !daemonGone(err)) await removeQuietly(client, id);
      throw err;
    }
  }));
}

/**
 * Whether `err` is the daemon going away under a call (SIGKILL, a crash) or not being there. The
 * task then runs on for the next daemon, which removes a `--rm` task once it exited: a removal from
 * here would start that daemon only to kill the task the user was attached to.
 */
function daemonGone(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'ECONNRESET' || isConnectError(err);
}

/** `--rm` after a failed attach: the task goes anyway (killed first), and the first error is the one reported. */
async function removeQuietly(client: DaemonClient, id: string): Promise<void> {
  await client.remove(id, { force: true }).catch(() => undefined);
}
