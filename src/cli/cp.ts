import type { ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import { TaskioError } from '../errors.js';
import { validateId } from '../ids.js';
import { withDaemon } from './daemonClient.js';
import { assertsDirectory, localPath, planCopy, preserveTrailing, splitCpArg, splitPathDirEntry, taskPath, type CopyDestination } from './cpPaths.js';
import { LinkGuard } from './cpLinkGuard.js';
import { localDestination, localSource, tarCreate, tarDone, tarExtract } from './cpLocal.js';
import { runInTask, statTaskPath, type CopyTask } from './cpTask.js';
import { TarRebase } from './tarRebase.js';
import { untilInterrupted } from './interrupt.js';
import { SessionOutput } from './sessionOutput.js';
import { humanSize } from './units.js';
import type { VerbContext } from './verb.js';

/**
 * `taskio cp [-a] [-L] [-q] TASK:SRC_PATH DEST_PATH|-` and `taskio cp [-a] [-L] [-q] SRC_PATH|-
 * TASK:DEST_PATH`: docker's copy between a task (running, created or exited) and this machine, with docker's path rules
 * (see `cpPaths.ts`): tar runs in the task through the daemon's exec (`cpTask.ts`) and the host's
 * GNU tar on this side (`cpLocal.ts`), the archive checked and renamed between them (`TarRebase`).
 * `-` is a tar stream on stdin or stdout. docker's `Successfully copied SIZE to DEST` goes to
 * stderr when stdout is a terminal or `-q=false` was given.
 */
export async function cp(ctx: VerbContext): Promise<number> {
  const a = ctx.args;
  const [srcArg, dstArg] = a.operands as [string, string];
  if (srcArg === '') throw new TaskioError('ERR_INVALID_ARG_VALUE', 'source can not be empty');
  if (dstArg === '') throw new TaskioError('ERR_INVALID_ARG_VALUE', 'destination can not be empty');
  const src = splitCpArg(srcArg);
  const dst = splitCpArg(dstArg);
  if (src.task !== null && dst.task !== null) throw new TaskioError('ERR_NOT_SUPPORTED', 'copying between containers is not supported');
  if (src.task === null && dst.task === null) throw new TaskioError('ERR_INVALID_ARG_VALUE', `must specify at least one container source (TASK:PATH), not ${JSON.stringify(srcArg)} and ${JSON.stringify(dstArg)}`);
  const id = validateId(src.task ?? dst.task);
  const quiet = a.given('quiet') ? a.bool('quiet') : !ctx.stdout.isTTY;
  return withDaemon(ctx, async (client) => {
    const { status } = await client.getTask(id);
    // docker copies without running anything; a paused task's processes (and runsc's sandbox) are frozen.
    if (status === 'paused') throw new TaskioError('ERR_INVALID_STATE', `task ${id} is paused: cp needs it running, created or exited; unpause it first`);
    const task: CopyTask = { client, id, helper: status !== 'running' };
    const copied = src.task !== null
      ? await fromTask(ctx, task, src.path, dst.path, a.bool('follow-link'))
      : await toTask(ctx, task, src.path, dst.path, a.bool('follow-link'), a.bool('archive'));
    if (typeof copied === 'number') return copied;
    if (!quiet) ctx.stderr.write(`Successfully copied ${humanSize(copied.bytes)} to ${copied.to}\n`);
    return 0;
  });
}

/** What a copy to a path (not `-`) copied: regular files' bytes, and the destination as docker names it. */
interface Copied {
  bytes: number;
  to: string;
}

/** Copies `srcPath` of the task to `dstPath` here (`-`: its archive on stdout, and the command's exit code). */
async function fromTask(ctx: VerbContext, task: CopyTask, srcPath: string, dstPath: string, follow: boolean): Promise<Copied | number> {
  const id = task.id;
  const sp = taskPath(srcPath);
  // `DIR/`: a link to a directory is that directory, under the link's name (moby's rule).
  const slash = sp !== '/' && sp.endsWith('/');
  const st = await statTaskPath(task, slash ? sp.slice(0, -1) : sp, follow || slash);
  if (st.kind === 'none' || st.kind === 'noparent' || (assertsDirectory(sp) && st.kind !== 'dir')) {
    throw new TaskioError('ERR_NOT_FOUND', `Could not find the file ${sp} in container ${id}`);
  }
  const { dir, base } = splitPathDirEntry(preserveTrailing(st.path, sp));
  const args = ['tar', '-c', '-f', '-', '-C', dir, '--', base];
  if (dstPath === '-') {
    // `cp box:/x - | head`: quiet, 141, as docker's CLI dies of SIGPIPE there; the task's tar is
    // killed. The exec writes into a sink that never fails: what comes after the EPIPE is dropped.
    const output = new SessionOutput(ctx.stdout, ctx.stderr);
    try {
      return await untilInterrupted(ctx, (signal) => runInTask(task, args, { stdout: output.stdout, signal }));
    } finally {
      output.dispose();
    }
  }
  const dp = localPath(dstPath);
  const plan = planCopy({ isDir: st.kind === 'dir', name: splitPathDirEntry(sp).base, display: `${id}:${sp}` }, localDestination(dp), dp);
  const guard = new LinkGuard(plan.dir);
  const rebase = new TarRebase({ base, name: plan.name, check: (member, type, link) => guard.member(member, type, link) });
  const extractor = tarExtract(plan.dir);
  await pipeline(rebase, extractor, tarDone(extractor, `extract into ${plan.dir}`), (signal) => runInTask(task, args, { stdout: sinkOf(rebase), signal }).then(() => { rebase.end(); }));
  return { bytes: rebase.contentBytes, to: dp };
}

/** Copies `srcPath` here (`-`: an archive on stdin, and the command's exit code) to `dstPath` of the task. */
async function toTask(ctx: VerbContext, task: CopyTask, srcPath: string, dstPath: string, follow: boolean, archive: boolean): Promise<Copied | number> {
  const id = task.id;
  const dp = taskPath(dstPath);
  const display = `${id}:${dstPath}`;
  // docker follows a destination that is a link: the copy goes where it points.
  const st = await statTaskPath(task, dp, true);
  if (st.kind === 'noparent') throw new TaskioError('ERR_NOT_FOUND', `Could not find the file ${splitPathDirEntry(dp).dir} in container ${id}`);
  const exists = st.kind === 'dir' || st.kind === 'file';
  const dest: CopyDestination = { path: exists ? preserveTrailing(st.path, dp) : dp, exists, isDir: st.kind === 'dir' };
  const extract = (dir: string): string[] => ['tar', '-x', '-f', '-', '-C', dir, ...(archive ? ['--numeric-owner'] : ['-o'])];
  if (srcPath === '-') {
    if (!dest.isDir) throw new TaskioError('ERR_INVALID_ARG_VALUE', `destination "${display}" must be a directory`);
    await runInTask(task, extract(dest.path), { stdin: ctx.stdin });
    return 0;
  }
  const lp = localPath(srcPath);
  const source = localSource(lp, follow);
  const plan = planCopy({ isDir: source.isDir, name: source.name, display: lp }, dest, display);
  const rebase = new TarRebase({ base: source.base, name: plan.name });
  const creator = tarCreate(source.dir, source.base);
  creator.stdout!.pipe(rebase);
  await pipeline(rebase, creator, tarDone(creator, `archive ${lp}`), (signal) => runInTask(task, extract(plan.dir), { stdin: rebase, signal }).then(() => undefined));
  return { bytes: rebase.contentBytes, to: display };
}

/**
 * Runs a copy's two ends — the host's `tar` (`local`, which `localDone` watches) and the task's
 * (`inTask`) — with `rebase` between them; the first failure of any of the three stops the other
 * two (the task's tar killed, the host's too) and is what the command reports.
 */
async function pipeline(rebase: TarRebase, local: ChildProcess, localDone: Promise<void>, inTask: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const abort = new AbortController();
  let failure: unknown = null;
  const fail = (err: unknown): void => {
    failure ??= err;
    abort.abort();
    local.kill('SIGKILL');
  };
  rebase.on('error', fail);
  const stdin = local.stdin as Writable | null;
  if (stdin) {
    stdin.on('error', () => undefined); // it exited early: its own error says why
    rebase.pipe(stdin);
  }
  const localEnd = localDone.catch(fail);
  await inTask(abort.signal).catch(fail);
  await localEnd;
  if (failure) throw failure;
}

/**
 * The exec's stdout sink in front of `rebase`: once `rebase` failed (its error is reported by
 * {@link pipeline}, which kills the task's tar) what still comes is dropped, not a write error of
 * the exec's copy; a write waiting for room is let go when `rebase` closes.
 */
function sinkOf(rebase: TarRebase): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      if (rebase.destroyed || rebase.write(chunk)) {
        done();
        return;
      }
      const go = (): void => {
        rebase.off('drain', go);
        rebase.off('close', go);
        done();
      };
      rebase.on('drain', go);
      rebase.on('close', go);
    },
  });
}
