/**
 * The process state machines (gVisor shim's `pkg/shim/proc` in camelCase): {@link Init} for a
 * container's init and {@link Process} for exec'd processes, over any {@link Runtime} (`Runsc`
 * for runsc and runc, or the host backend).
 *
 * Decisions recorded here:
 * - Exit statuses come from the reaper (`src/runtime/reaper`), subscribed before the runtime is
 *   called; the pid comes from the runtime's pid file (`<bundle>/init.pid`, `<dir>/<exec>.pid`).
 * - Every forbidden call throws `ERR_INVALID_STATE` with gVisor's words; calls before `create`
 *   say "… not created". `status()` is `unknown` before create.
 * - State is one transition table per object plus an operation queue (`src/lifecycle.ts`,
 *   gVisor's `p.mu`): calls on one Init (or one Process) run one at a time in call order, each
 *   checked when its turn comes; the reaper's exit is an event outside the queue.
 * - Ids (container and exec) are checked in the constructor / `exec()` with the one id rule.
 * - A failed create deletes the runtime's leftovers only when this call made them: never an id
 *   the runtime refused as existing (`ERR_ALREADY_EXISTS`).
 * - `delete()` of a created container ends it (status 137); `delete()` of a stopped one waits up
 *   to `drainTimeout` (2 s) for a client to read what is left in the output FIFOs.
 * - `closeStdin()` (containerd's `CloseIO`) and `checkpoint()`/`pause()`/`resume()`/`processes()`
 *   are additions to gVisor's Init API.
 * - Terminals: a console socket for OCI runtimes; runtimes with `newTerminal()` (the host) make
 *   their own. Either way a size set before start is the size the process starts with.
 */
export { Init } from './init.js';
export { Process } from './exec.js';
export { invalidState } from './errors.js';
export type { Runtime, RuntimeCreateOptions, RuntimeExecOptions, RuntimeRestoreOptions, Terminal, WinSize } from './runtime.js';
export type { CheckpointConfig, CreateConfig, ExecConfig, ExecStatus, InitOptions, InitStatus, Mount, ProcessStatus, RestoreConfig, Stdio } from './types.js';
