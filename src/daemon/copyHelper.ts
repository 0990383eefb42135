import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { removeInside } from '../removeInside.js';
import { HostRuntime } from '../runtime/host/index.js';
import { Init, type ExecConfig } from '../runtime/proc/index.js';
import { readSpec, writeBundle } from './bundle.js';
import { containerCgroup } from './containerCgroup.js';
import { recordHelperProcess } from './copyHelperProcess.js';
import type { DaemonExec } from './execRecords.js';
import { exitFromStatus } from './exitStatus.js';
import type { DaemonLayout } from './layout.js';
import type { TaskRecord } from './records.js';
import { jobPrefix, runscFor, taskNamespace } from './runtimes.js';

/** A helper's directory in its task's: `cp-<tag>`, the tag 8 hex digits (its id ends with it too). */
export const copyDirPrefix = 'cp-';
/** A helper's tag, as its id and its directory end. */
export const copyTag = /^[0-9a-f]{8}$/;

/**
 * The longest runsc copy helper id (`<id>+<kind>+<tag>`): runsc binds its sandbox's control socket to
 * the abstract `runsc-sandbox.<runtime id>`, a unix socket name of bounded length, and refuses a
 * runtime id of 93 characters or more ("creating control server socket … invalid argument"; 92 is
 * taken, measured with runsc 2022-12-19). The runtime id is the helper's behind the root's
 * 9-character prefix and before the 2-character end (`runtimeId.ts`): 92 - 11 = 81.
 */
const runscHelperIdMax = 81;

/**
 * The id of task `record`'s copy helper `tag` (its runtime's container, its cgroup's name after the
 * root's prefix): `<id>+cp+<tag>`. No task id holds a `+` (`validateContainerId` in ids.ts): a
 * helper's id is never a task's, and the next daemon deleting a task's helpers as leftovers never
 * meets a task (a task `web-cp-0a1b2c3d` would have been one of `web`'s under `-cp-`).
 *
 * A runsc task whose `<id>+cp+<tag>` is longer than {@link runscHelperIdMax} (an id of 70
 * characters or more) gets `<its first 51 characters>-<16 hex of the id's sha256>+cph+<tag>`
 * instead: runsc refused the longer one ("creating control server socket … invalid argument"), so
 * `taskio cp` never worked on such a task once it was not running. Its own kind, `cph`, keeps it
 * apart from the helpers of a task named like its first part; the hash, from another long id that
 * begins alike. runc and host tasks keep the long id: runc has no such limit, and a daemon that
 * adopts a task finds the helpers an older one left by their id.
 */
export function copyHelperId(record: Pick<TaskRecord, 'id' | 'runtime'>, tag: string): string {
  const full = `${record.id}+cp+`;
  if (record.runtime !== 'runsc' || full.length + 8 <= runscHelperIdMax) return full + tag;
  const hash = crypto.createHash('sha256').update(record.id).digest('hex').slice(0, 16);
  return `${record.id.slice(0, 51)}-${hash}+cph+${tag}`;
}

/** The cgroup name of copy helper `helperId` (runsc, runc): its own, never its task's. */
export function copyHelperCgroup(layout: DaemonLayout, helperId: string): string {
  return `${jobPrefix(layout.root)}${helperId}`;
}

/**
 * The transient helper of an exec into a task that does not run (created or exited: `taskio cp`
 * into a created task, out of an exited one, as docker copies without running anything): a
 * container made from the task's own bundle — its root, mounts, namespaces and user mapping — with
 * the exec's process in place of the task's, no terminal, and an id of its own
 * (`<id>+cp+<random>`), so paths resolve in the task's filesystem as for an exec, never on the
 * host; for a host task, a host process as its exec is one, named in the helper's directory
 * (`copyHelperProcess.ts`) for the next daemon to end should this one be SIGKILLed. The helper's
 * stdio is the exec's FIFO set, so the client reads it as an exec's. Once its process exited the container is deleted
 * (runtime state, cgroup, its bundle directory) before its exit is told: a client that saw the
 * exit sees nothing left.
 */
export async function startCopyHelper(layout: DaemonLayout, record: TaskRecord, config: ExecConfig, logger: Logger): Promise<DaemonExec> {
  const tag = crypto.randomBytes(4).toString('hex');
  const helperId = copyHelperId(record, tag);
  const dir = path.join(layout.taskDir(record.id), `${copyDirPrefix}${tag}`);
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(dir, { mode: 0o700 });
  const removeDir = (): void => removeInside(layout.taskDir(record.id), dir);
  try {
    writeBundle(bundle, helperSpec(layout, record, helperId, config));
    const runtime = record.runtime === 'host' ? new HostRuntime({ jobs: false }) : runscFor(record, path.join(dir, 'runtime.json'), logger);
    const stdio = { terminal: false, stdin: config.stdin, stdout: config.stdout, stderr: config.stderr };
    const init = new Init(helperId, runtime, stdio, { drainTimeout: 2000, namespace: taskNamespace });
    if (init.canRun()) {
      await init.run({ id: helperId, bundle, ...stdio });
    } else {
      await init.create({ id: helperId, bundle, ...stdio });
      await init.start().catch(async (err: unknown) => {
        await init.delete().catch(() => undefined);
        throw err;
      });
    }
    if (record.runtime === 'host') await recordProcess(init, dir);
    const e: DaemonExec = {
      id: config.id, args: config.spec.args, terminal: false, exit: null, exited: Promise.resolve(null as never),
      process: {
        pid: () => init.pid(),
        kill: (signal) => init.kill(signal, true),
        resize: (ws) => init.resize(ws),
        closeStdin: () => init.closeStdin(),
        // Deleted once it exited (below): nothing is left for a delete or a release.
        delete: async () => { await e.exited; },
        release: async () => { await e.exited; },
      },
    };
    e.exited = init.wait().then(async () => {
      e.exit = exitFromStatus(init.exitStatus(), init.exitedAt());
      await init.delete().catch((err: unknown) => logger.warn({ err, id: record.id, helperId }, 'cannot delete a copy helper container'));
      removeDir();
      return e.exit;
    });
    return e;
  } catch (err) {
    removeDir();
    throw err;
  }
}

/**
 * Names a host helper's process in its directory (`copyHelperProcess.ts`). One that cannot be named
 * is ended and deleted before the failure is thrown: a daemon SIGKILLed later would leave it unseen.
 */
async function recordProcess(init: Init, dir: string): Promise<void> {
  try {
    recordHelperProcess(dir, init.pid());
  } catch (err) {
    await init.kill(9, true).catch(() => undefined);
    await init.wait();
    await init.delete().catch(() => undefined);
    throw err;
  }
}

/**
 * Whether mount `m` of a task's spec is a tmpfs its runtime makes afresh at each start (`/tmp` on
 * the default rootfs, `/dev/shm`): a helper's own would take a copy in and lose it, as the task's
 * start makes another, and show nothing of a run that ended. `/dev` is one too, but the runtime
 * makes its device nodes there.
 */
function freshEachStart(m: { type?: string; destination: string }): boolean {
  return m.type === 'tmpfs' && m.destination !== '/dev';
}

/**
 * The helper's spec: the task's bundle with `process` replaced by the exec's (no terminal), its root
 * made absolute (the bundle is elsewhere), and a cgroup of the helper's own (runsc, runc) — the
 * task's would be shared with a start of it. Its tmpfs mounts made afresh at each start are
 * read-only in the helper, so a copy into one fails (tar's "Read-only file system") rather than
 * succeed into memory no run of the task sees — docker's writable layer keeps such a copy; taskio's
 * `/tmp` is a tmpfs of each run — and a copy out of one finds nothing, as nothing of it is left.
 */
function helperSpec(layout: DaemonLayout, record: TaskRecord, helperId: string, config: ExecConfig): ReturnType<typeof readSpec> {
  const spec = readSpec(record.bundle);
  spec.root.path = path.resolve(record.bundle, spec.root.path);
  spec.process = { ...config.spec, terminal: false };
  delete spec.process.consoleSize;
  spec.mounts = spec.mounts?.map((m) => (freshEachStart(m) ? { ...m, options: [...(m.options ?? []).filter((o) => o !== 'rw'), 'ro'] } : m));
  const linux = spec.linux as { cgroupsPath?: string } | undefined;
  if (record.runtime !== 'host' && linux) linux.cgroupsPath = containerCgroup(copyHelperCgroup(layout, helperId));
  return spec;
}
