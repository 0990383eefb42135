/**
 * The host backend: the same `Init`/`Process` API for plain host processes, whose command comes
 * from the bundle's `config.json` `process`. Use it as `new Init(id, new HostRuntime(), stdio)`.
 *
 * Decisions recorded here:
 * - Processes run directly on the host, born inside the task's job object (a cgroup, lent by
 *   `jobFor` or made per task); where no cgroup can be made, each leads a session of its own and
 *   the task is found through those sessions (weaker: see `HostRuntime`).
 * - The task owns all its descendants: the init's exit kills whatever the task still runs, as a
 *   pid namespace dies with its init under runc and runsc; `kill --all` and `delete` reach them too.
 * - Terminals are node-pty; its pid is declared to the reaper (`exclude`) and its exit passed on
 *   (`notifyExit`), since node-pty reaps it itself.
 * - `stats()` reads `/proc` (CPU time, RSS, process count of the groups).
 * - `kill` of a created (not started) task fails like runsc's; `checkpoint`/`restore` are
 *   `ERR_NOT_SUPPORTED`.
 */
export { HostRuntime, type HostRuntimeOptions } from './hostRuntime.js';
export { HostTerminal } from './terminal.js';
export { groupStats } from './stats.js';
