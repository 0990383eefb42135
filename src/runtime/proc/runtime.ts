import type { Readable, Writable } from 'node:stream';
import type {
  AttachedRun, CallOptions, CheckpointOptions, CreateOptions, DeleteOptions, ExecOptions, KillOptions, ProcessSpec,
  RestoreOptions, State, Stats,
} from '../oci/index.js';

import type { WinSize } from '../console/index.js';

export type { WinSize };

/**
 * A process's terminal as taskio sees it: the pty master's output and input, and its size.
 * `src/runtime/console`'s `Console` is one (a master received over a console socket); the host
 * backend makes its own around node-pty.
 */
export interface Terminal {
  /** What the process writes to its terminal; ends when the process and its children are gone. */
  readonly output: Readable;
  /** What the process reads from its terminal. */
  readonly input: Writable;
  /** Sets the window size; a size set before the process starts is the size it starts with. */
  resize(ws: WinSize): void;
  /** Closes the terminal. Idempotent. */
  close(): void;
  /**
   * The fd of the pty master while the process runs, when the terminal holds one in this process
   * (a process spawned with it may inherit it: the daemon's output keeper); null otherwise. The fd
   * stays the terminal's. Optional: a terminal without it is not kept across a daemon restart.
   */
  masterFd?(): number | null;
}

/** {@link Runtime.create} options: the OCI ones, plus a terminal for runtimes that make their own. */
export interface RuntimeCreateOptions extends CreateOptions {
  /** From {@link Runtime.newTerminal}: the terminal the runtime attaches the process to. */
  terminal?: Terminal;
}

/** {@link Runtime.exec} options, as {@link RuntimeCreateOptions}. */
export interface RuntimeExecOptions extends ExecOptions {
  terminal?: Terminal;
}

/** {@link Runtime.restore} options, as {@link RuntimeCreateOptions}. */
export interface RuntimeRestoreOptions extends RestoreOptions {
  terminal?: Terminal;
}

/**
 * What {@link Init} drives: an OCI runtime (`Runsc`, for runsc and runc) or the host backend
 * (`HostRuntime`). The methods are `Runsc`'s; a runtime that cannot do one (the host cannot
 * checkpoint) fails it with `ERR_NOT_SUPPORTED`.
 *
 * Exit statuses never come from the runtime: {@link Init} reads the pid the runtime wrote to
 * `pidFile` (runsc: the sandbox, runc: the init, host: the process; for exec runsc's `exec` helper)
 * and takes the status of that pid's exit from the reaper.
 */
export interface Runtime {
  create(id: string, bundle: string, opts: RuntimeCreateOptions): Promise<void>;
  start(id: string, opts?: CallOptions): Promise<void>;
  /**
   * Present on runtimes that create and start in one call (`runsc`/`runc run --detach`): one
   * runtime process instead of two. Resolves once the container runs.
   */
  run?(id: string, bundle: string, opts: RuntimeCreateOptions & { detach: true }): Promise<number>;
  /**
   * Present on runtimes that can create and start in one call that stays attached to the container
   * and removes it at the exit (`runc`/`runsc run` without `--detach`, {@link Runsc.runAttached}).
   */
  runAttached?(id: string, bundle: string, opts: RuntimeCreateOptions & { pidFile: string }): AttachedRun;
  exec(id: string, spec: ProcessSpec, opts: RuntimeExecOptions): Promise<void>;
  kill(id: string, signal: number | string, opts?: KillOptions): Promise<void>;
  delete(id: string, opts?: DeleteOptions): Promise<void>;
  state(id: string, opts?: CallOptions): Promise<State>;
  stats(id: string, opts?: CallOptions): Promise<Stats>;
  pause(id: string, opts?: CallOptions): Promise<void>;
  resume(id: string, opts?: CallOptions): Promise<void>;
  checkpoint(id: string, opts: CheckpointOptions): Promise<void>;
  restore(id: string, opts: RuntimeRestoreOptions): Promise<number>;
  /**
   * Present on runtimes that make terminals themselves (the host backend's node-pty) instead of
   * sending a pty master over `--console-socket`: a fresh terminal to pass as `terminal` to
   * `create`/`exec`/`restore`, usable (resizable) before the process starts.
   */
  newTerminal?(): Terminal;
}
