/**
 * The host backend: the same `Init`/`Process` API for plain host processes, whose command comes
 * from the bundle's `config.json` `process`. Use it as `new Init(id, new HostRuntime(), stdio)`.
 *
 * Decisions recorded here:
 * - Processes run directly on the host, each leading its own process group (`kill --all` signals
 *   the groups). With a `jobFor` hook (the container facade's `hostBackend` sets one) they are
 *   started inside the task's job object (`src/runtime/jobobject`, a cgroup on Linux).
 * - Terminals are node-pty; its pid is declared to the reaper (`exclude`) and its exit passed on
 *   (`notifyExit`), since node-pty reaps it itself.
 * - `stats()` reads `/proc` (CPU time, RSS, process count of the groups).
 * - `kill` of a created (not started) task fails like runsc's; `checkpoint`/`restore` are
 *   `ERR_NOT_SUPPORTED`.
 */
export { HostRuntime, type HostRuntimeOptions } from './hostRuntime.js';
export { HostTerminal } from './terminal.js';
export { groupStats } from './stats.js';
