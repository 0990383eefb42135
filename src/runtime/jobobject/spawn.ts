import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Options for {@link JobObject.spawn}: Node's `SpawnOptions` without `shell` and `argv0`, which the
 * wrapper below cannot honour (it runs the command with `exec "$@"`, and POSIX `sh` has no `exec -a`).
 */
export type JobSpawnOptions = Omit<SpawnOptions, 'shell' | 'argv0'>;

/** Exit status of the wrapper when it could not enter the job; the command never ran. */
export const EnterJobFailedExitCode = 125;

// POSIX single quotes: nothing inside is special except the quote itself.
function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Starts `cmd args` so that it is inside the cgroups before it runs a single instruction of its own:
 * Node spawns `/bin/sh`, which writes its own pid (`$$`) into every `cgroup.procs` and then `exec`s the
 * command in place — same pid, and every page the command touches is charged to the job (a process moved
 * in later keeps what it had charged elsewhere). Only the tiny shell runs outside first.
 *
 * Differences from `child_process.spawn`: the command is looked up by the shell (`PATH` from
 * `options.env`), so a missing command exits 127 instead of emitting `'error'`; if the job cannot be
 * entered the shell prints why and exits {@link EnterJobFailedExitCode} without running the command.
 */
export function spawnInto(procsFiles: readonly string[], cmd: string, args: readonly string[], options: JobSpawnOptions): ChildProcess {
  const line = enteringCommand(procsFiles, cmd, args);
  return spawn(line.file, line.args, { ...options, shell: false });
}

/** A command line that runs `cmd args` once it has entered the cgroups: see {@link spawnInto}. */
export interface JobCommand {
  file: string;
  args: string[];
}

/**
 * The command line {@link spawnInto} runs, for spawners other than `child_process` (node-pty):
 * `/bin/sh` joins the cgroups, then `exec`s the command with the same pid.
 */
export function enteringCommand(procsFiles: readonly string[], cmd: string, args: readonly string[]): JobCommand {
  const enter = procsFiles.map((f) => `echo $$ > ${quote(f)}`).join(' && ');
  const script = `{ ${enter}; } || exit ${EnterJobFailedExitCode}; exec "$@"`;
  return { file: '/bin/sh', args: ['-c', script, 'sh', cmd, ...args] };
}
