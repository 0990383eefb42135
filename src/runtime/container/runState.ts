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

/**
 * The facade's state from the Init's status (`created`, `running`, `paused`, `stopped`, `deleted`)
 * and whether a pause is in flight. A `created` Init counts as `running`: the factory starts the
 * init before it hands the container out, so only a failed start could leave one — and then the
 * factory destroys it.
 */
export function runStateOf(initStatus: string, pausing: boolean): RunState {
  switch (initStatus) {
    case 'created': case 'running': return pausing ? 'pausing' : 'running';
    case 'paused': return 'paused';
    case 'stopped': return 'stopped';
    default: return 'destroyed';
  }
}
