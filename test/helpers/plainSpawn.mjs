// Loaded into every test process after tap's own imports (package.json: tap.node-arg).
// tap's processinfo hooks every spawn of a test to put itself into the child's NODE_OPTIONS, for
// coverage, which this suite does not collect: every node process a test starts (the taskio command,
// daemons, loggers, fixtures) then loaded it too, about half a CPU-second each and a file under
// .tap/processinfo. Its listeners go, so what a test spawns runs as a user's would.
const state = globalThis[Symbol.for('process-on-spawn@*:singletonId')];
if (state !== undefined) state.listeners.length = 0;
