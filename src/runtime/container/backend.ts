import type { Init, Process, Runtime } from '../proc/index.js';

/**
 * What differs between the runtimes a {@link Container} runs on, beyond the {@link Runtime} its Init
 * drives: where the pids of `processes()` come from and which pid namespace they are in.
 *
 * Every pid the facade takes or returns (`initPid()`, `startProcess()`, `processes()`,
 * `signal(pid)`, `waitProcess(pid)`) is in the backend's namespace: host pids for runc and the host
 * backend, sandbox-internal pids for runsc (a gVisor process has no host pid of its own: the
 * sandbox runs them all). libcontainer promised pids "in the namespace of the calling process";
 * runsc cannot give those, and mixing the two would make `signal(pid)` hit the wrong process.
 */
export interface ContainerBackend {
  /** `runsc`, `runc` or `host`: for messages and tests. */
  readonly name: string;
  /** What the container's {@link Init} drives. */
  readonly runtime: Runtime;
  /** The pids of every process in container `id` (libcontainer's `Processes`). */
  processes(id: string): Promise<number[]>;
  /** The init's pid, once started, as {@link processes} lists it. */
  initPid(init: Init): number;
  /**
   * The pid of a started exec'd process as {@link processes} lists it; `dir` is the pid-file
   * directory given to {@link Init.exec}.
   */
  execPid(p: Process): number;
  /** Signals a pid of container `id` that the facade did not start itself (a child of the init). */
  signalPid(id: string, pid: number, signal: number | string): Promise<void>;
}
