// Loaded into every test process after tap's own imports (package.json: tap.node-arg).
// tap's processinfo, for coverage, which this suite does not collect, reaches every node process a
// test starts (the taskio command, daemons, loggers, fixtures) two ways: it hooks every spawn to put
// itself into the child's NODE_OPTIONS, and it stands in this process's own NODE_OPTIONS, which a
// child given `{ ...process.env }` inherits. In a child it registers an off-thread module loader:
// some 0.1 CPU-second at each start and a slower load of every module after, on every command line
// a test runs. Both ways go, so what a test spawns runs as a user's would.
const state = globalThis[Symbol.for('process-on-spawn@*:singletonId')];
if (state !== undefined) state.listeners.length = 0;
const options = process.env.NODE_OPTIONS;
if (options !== undefined) {
  const kept = options.split(/\s+/).filter((o) => o !== '' && !o.includes('@tapjs/processinfo')).join(' ');
  if (kept === '') delete process.env.NODE_OPTIONS;
  else process.env.NODE_OPTIONS = kept;
}
