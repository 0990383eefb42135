import { refuse, type Transitions } from '../../lifecycle.js';
import { ErrorCode } from './errors.js';

/**
 * The run state of a container, libcontainer's `RunState`/`Status` in lower case:
 *
 * - `running`: the init runs (libcontainer's Running; a container is started by its factory).
 * - `pausing`: a {@link Container.pause} is under way (the runtime's `pause` or the freezer has not
 *   confirmed yet).
 * - `paused`: every process of the container is frozen.
 * - `stopped`: the init exited; the container still exists until {@link Container.destroy}
 *   (later libcontainer's Stopped — the first interface destroyed a container with its init).
 * - `destroyed`: {@link Container.destroy} ran; every other call fails with `ContainerDestroyed`.
 */
export type RunState = 'running' | 'pausing' | 'paused' | 'stopped' | 'destroyed';

/** The states a container's lifecycle holds: `pausing` is a pause in flight, not a state of its own. */
export type ContainerState = Exclude<RunState, 'pausing'>;

/** The container's operations, and `exit`: the event of its init's exit. */
export type ContainerOp = 'processes' | 'stats' | 'startProcess' | 'signal' | 'pause' | 'resume' | 'destroy' | 'exit';

/**
 * The container's transition table, with libcontainer's error codes: `ContainerDestroyed` for any
 * call once destroyed, `ContainerPaused` for starting or signalling a process of a paused
 * container, `ContainerNotRunning` for what needs a live init once it exited. Pausing a paused
 * container, resuming a running one and destroying a destroyed one do nothing.
 */
export function containerTable(id: string): Transitions<ContainerState, ContainerOp> {
  const destroyed = refuse(`cannot use container ${id}: it is destroyed`, ErrorCode.ContainerDestroyed);
  const paused = (what: string) => refuse(`cannot ${what} container ${id}: it is paused`, ErrorCode.ContainerPaused);
  const stopped = (what: string) => refuse(`cannot ${what} container ${id}: it is stopped`, ErrorCode.ContainerNotRunning);
  return {
    processes: { running: null, paused: null, stopped: null, destroyed },
    stats: { running: null, paused: null, stopped: stopped('stat'), destroyed },
    startProcess: { running: null, paused: paused('start a process in'), stopped: stopped('start a process in'), destroyed },
    // Stopped: a stop signal to the exited init is a no-op, anything else ESRCH (decided by the call).
    signal: { running: null, stopped: null, paused: paused('signal a process of'), destroyed },
    pause: { running: 'paused', paused: null, stopped: stopped('pause'), destroyed },
    resume: { paused: 'running', running: null, stopped: stopped('resume'), destroyed },
    destroy: { running: 'destroyed', paused: 'destroyed', stopped: 'destroyed', destroyed: null },
    exit: { running: 'stopped', paused: 'stopped' },
  };
}
