import v8 from 'node:v8';

/**
 * The V8 versions known to have `--concurrent-array-buffer-sweeping` (Node 20 to 24). V8 prints
 * "unrecognized flag" on stderr for a flag it lacks, so on any other version nothing is set.
 */
const knownMajors = { low: 11, high: 13 };

/** Matches an option that decides array-buffer sweeping: the flag itself, or `--single-threaded-gc`, which implies it. */
const sweepingOption = /--(?:no-?)?(?:concurrent[-_]array[-_]buffer[-_]sweeping|single[-_]threaded[-_]gc)\b/;

let decided = false;

/** Whether V8 `version` (`process.versions.v8`) is one known to have the flag. */
export function knowsSweepingFlag(version: string): boolean {
  const major = Number.parseInt(version, 10);
  return major >= knownMajors.low && major <= knownMajors.high;
}

/**
 * Whether Node was started with its own choice of array-buffer sweeping in `execArgv` (the only
 * place for it: Node refuses these V8 flags in `NODE_OPTIONS`).
 */
export function sweepingChosen(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => sweepingOption.test(a));
}

/**
 * Has V8 free dead `ArrayBuffer`s in the collection that found them dead, instead of on a worker
 * thread afterwards (`--no-concurrent-array-buffer-sweeping`, set with `v8.setFlagsFromString`).
 * Why: a copy for a sink that may keep chunks allocates a fresh `ArrayBuffer` for every byte, and
 * V8 counts those bytes as external memory until they are freed. Swept on a worker thread, the
 * buffers a scavenge found dead stay counted until that thread gets a core, which on a machine
 * whose cores run the task and the copy is late; meanwhile the count grows, and V8 starts a
 * mark-compact for it (7–31 per GiB copied into a `Writable` in the bench's process, 0–4 swept
 * at once; README, "Copied sinks and V8's garbage collector"). What it costs instead: a scavenge
 * frees its dead buffers before it returns (one `free` each). V8 itself sweeps that way whenever
 * it is reducing memory. Runs once per process; a process started with its own choice
 * (`--concurrent-array-buffer-sweeping`, its negation or `--single-threaded-gc` on Node's command
 * line) is left as it is, and so is a V8 not known to have the flag. Returns
 * whether it set the flag.
 */
export function sweepArrayBuffersInline(): boolean {
  if (decided) return false;
  decided = true;
  if (!knowsSweepingFlag(process.versions.v8) || sweepingChosen(process.execArgv)) return false;
  v8.setFlagsFromString('--no-concurrent-array-buffer-sweeping');
  return true;
}
