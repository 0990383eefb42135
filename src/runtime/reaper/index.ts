/**
 * The reaper and exit monitor: the host process as child subreaper, reaping orphans by pid
 * beside libuv's own children, with containerd's `ProcessMonitor` subscription model.
 */
export type { Exit } from './exit.js';
export { statusFromCodeSignal } from './exit.js';
export type { ProcessMonitor, MonitorOptions } from './monitor.js';
export { Monitor, defaultMonitor } from './monitor.js';
export type { ExitSubscriptionEvents } from './subscription.js';
export { ExitSubscription } from './subscription.js';
export { listChildren, processState } from './children.js';
