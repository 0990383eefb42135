import { TaskioError } from '../errors.js';
import type { Readable, Writable } from 'node:stream';
import type { Attachment, CreatedAttachment, DaemonClient } from '../daemon/client.js';
import { refuseUnstarted } from '../daemon/unstarted.js';
import { notRunning } from '../daemon/notRunning.js';
import type { ExitRecord } from '../daemon/records.js';
import type { CreateTaskRequest } from '../daemon/createRequest.js';
import type { TaskView } from '../daemon/task.js';
import type { WinSize } from '../sys/index.js';
import { withDaemon } from './daemonClient.js';
import { attachedSession, leftCode, type SessionEnd } from './session.js';
import { checkTty } from './checkTty.js';
import { consoleSizeOf } from './consoleSize.js';
import { outputStreams, type ShownOutput } from './outputStreams.js';
import { proxySignals } from './sigProxy.js';
import type { VerbContext } from './verb.js';
import { waitBeside } from './waitBeside.js';

/** What an attach to a task takes from the command line. */
export interface AttachTaskOptions {
  /** Send this process's stdin to the task (when the task has one). */
  stdin: boolean;
  /**
   * When this process's stdin ends, the task's stdin is closed (the close-stdin call, as ctr's
   * `CloseIO`): for the attach of `run -i`, as docker's `StdinOnce`. A detach or a client that
   * dies never closes it.
   */
  closeStdin: boolean;
  /** Log mode: replay the log from its start first. */
  logs: boolean;
  detachKeys: Buffer | undefined;
  /** docker's `--sig-proxy`: without a terminal, the signals this process gets go to the task. */
  sigProxy: boolean;
  /** docker's `run -a`: the output streams shown (default: both). */
  output?: ShownOutput | undefined;
}

/**
 * Attaches this process's stdio to `task` through the daemon (log mode: the log followed; FIFO
 * mode: the cio attach, one reader at a time) until the task's output ends or the detach keys are
 * typed. The detach keys are watched here, so the daemon is asked to watch none.
 */
export function attachTask(ctx: VerbContext, client: DaemonClient, task: TaskView, opts: AttachTaskOptions): Promise<SessionEnd> {
  return attachSession(ctx, client, () => task.id, Promise.resolve(task.id), task.terminal, opts, ({ stdin, stdout, stderr, logs, detachKeys }) => {
    const output = outputStreams(opts.output, { stdout, stderr }, task.log === 'none');
    return client.attach(task.id, { ...(stdin ? { stdin } : {}), ...output, logs, detachKeys, view: task });
  });
}

/**
 * Creates and starts the task of `req` and attaches this process's stdio to it in one round trip
 * (the daemon's create-and-attach), as {@link attachTask} does for a task that exists, with the
 * task's exit sent after its output (not for a terminal: its stream is raw). `onCreated` gets the
 * attachment as soon as the daemon made the task.
 */
export function createAndAttach(ctx: VerbContext, client: DaemonClient, req: CreateTaskRequest, opts: AttachTaskOptions, onCreated: (made: CreatedAttachment) => void): Promise<SessionEnd> {
  let id = '';
  let made!: (id: string) => void;
  const known = new Promise<string>((resolve) => { made = resolve; });
  return attachSession(ctx, client, () => id, known, req.terminal === true, opts, async ({ size, stdout, stderr, ...streams }) => {
    // The task's terminal starts with this one's size (stdout's, else stdin's).
    const output = outputStreams(opts.output, { stdout, stderr }, req.log === 'none');
    const attached = await client.createAttached({ ...req, ...consoleSizeOf(req.terminal, size) }, { ...streams, ...output, exit: req.terminal !== true });
    id = attached.id;
    made(id);
    onCreated(attached);
    return attached;
  });
}

/**
 * `taskio start -a [-i] [--detach-keys KEYS] TASK` (docker's `start -a`): starts the task and
 * attaches this process's stdio to it in one round trip — the run's output from its very start,
 * stdin with `-i` (its end closes the task's stdin, as for `run -i`) — and exits with the task's
 * code, or 0 when the detach keys were typed. A running task is attached to as it is.
 */
export async function startAttached(ctx: VerbContext): Promise<unknown> {
  const a = ctx.args;
  if (a.operands.length > 1) throw new TaskioError('ERR_INVALID_ARG_VALUE', 'you cannot start and attach multiple tasks at once');
  const id = a.operands[0]!;
  return withDaemon(ctx, async (client) => {
    const task = await client.getTask(id);
    const stdin = a.bool('interactive') && task.stdin;
    checkTty(stdin, task.terminal, () => ctx.stdin);
    const opts = { stdin, closeStdin: true, logs: false, detachKeys: a.value<Buffer>('detach-keys'), sigProxy: true };
    // No exit in a terminal's stream (it is raw): asked beside it, once the --rm task went for one.
    const beside = task.terminal ? waitBeside(client, id, task.autoRemove) : null;
    let exit: Promise<ExitRecord | null> = beside?.exit ?? Promise.resolve(null);
    try {
      const end = await attachSession(ctx, client, () => id, Promise.resolve(id), task.terminal, opts, async (streams) => {
        const attached = await client.startAttached(id, { ...streams, exit: !task.terminal });
        if (!beside) exit = attached.exit;
        return attached;
      });
      const left = leftCode(end);
      if (left !== null) return left;
      // A daemon from before the exit frame sent none: asked now.
      return (await exit) ?? await client.wait(id, task.autoRemove ? { condition: 'removed' } : {});
    } finally {
      beside?.stop();
    }
  });
}

type Connect = (streams: { stdin?: Readable; stdout: Writable; stderr: Writable; logs: boolean; detachKeys: string; size: WinSize | null }) => Promise<Attachment>;

/** `id()` is the task's id once known (`known` settles then: a signal that came before waits for it). */
async function attachSession(ctx: VerbContext, client: DaemonClient, id: () => string, known: Promise<string>, tty: boolean, opts: AttachTaskOptions, connect: Connect): Promise<SessionEnd> {
  let giveUp!: () => void;
  const interrupted = new Promise<void>((resolve) => { giveUp = resolve; });
  // As docker: a terminal turns ctrl-C into a byte for the task; without one, signals are handed on.
  const stopProxy = opts.sigProxy && !tty
    ? proxySignals(async (signal) => client.kill(await known, signal), giveUp)
    : null;
  try {
    const end = await attachedSession(ctx, {
      stdin: opts.stdin,
      tty,
      detachKeys: opts.detachKeys,
      resize: (size) => client.resize(id(), size),
      closeStdin: opts.closeStdin ? () => client.closeStdin(id()) : undefined,
      interrupted,
      connect: ({ stdin, stdout, stderr, size }) => connect({ ...(stdin ? { stdin } : {}), stdout, stderr, logs: opts.logs, detachKeys: '', size }),
    });
    if (end === 'interrupted') {
      ctx.stderr.write(`${ctx.command}: left task ${id()} running: it did not end on the interrupts handed on to it (taskio stop ${id()} ends it)\n`);
    }
    return end;
  } finally {
    stopProxy?.();
  }
}

/**
 * `taskio attach [--no-stdin] [--detach-keys KEYS] [--logs] TASK`: this process's stdio on a
 * running task until it exits (the command exits with its code) or the detach keys are typed
 * (exit 0; the task keeps running), as `docker attach`.
 */
export async function attach(ctx: VerbContext): Promise<unknown> {
  const a = ctx.args;
  const id = a.operands[0]!;
  return withDaemon(ctx, async (client) => {
    const task = await client.getTask(id);
    if (task.status === 'exited') throw new TaskioError('ERR_INVALID_STATE', notRunning(id));
    // docker's CLI refuses it too: nothing would come until an unpause, and a signal handed on stays pending.
    if (task.status === 'paused') throw new TaskioError('ERR_INVALID_STATE', `you cannot attach to paused task ${id}: unpause it first`);
    refuseUnstarted(task); // before the terminal checks, as docker's attach
    const stdin = !a.bool('no-stdin') && task.stdin;
    checkTty(stdin, task.terminal, () => ctx.stdin);
    // The exit is asked beside the attach, whose stream carries none (see waitBeside).
    const beside = waitBeside(client, id);
    try {
      const end = await attachTask(ctx, client, task, { stdin, closeStdin: false, logs: a.bool('logs'), detachKeys: a.value<Buffer>('detach-keys'), sigProxy: a.bool('sig-proxy') });
      return leftCode(end) ?? await beside.exit;
    } finally {
      beside.stop();
    }
  });
}
