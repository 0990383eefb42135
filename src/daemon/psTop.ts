import { TaskioError } from '../errors.js';
import { runCommand } from '../runtime/oci/spawn.js';
import type { Ran } from '../runtime/oci/monitoredRun.js';
import { fieldsAscii } from './psArgs.js';
import { findBinary } from './runtimes.js';

/** The answer of `GET /tasks/:id/top` (docker's `ContainerTopOKBody`). */
export interface TopBody {
  titles: string[];
  processes: string[][];
}

/** How long one run of `ps` may take before it is killed: it reads /proc, milliseconds. */
const psTimeoutMs = 10_000;

/**
 * docker's `top` with ps options (moby `daemon/top_unix.go`): the host's `ps` run with `args` (no
 * shell, the binary found on the daemon's PATH), its rows kept where the PID column holds one of
 * `pids` — the task's processes — and the lines a kept row is followed by whose PID is `-` (its
 * threads, with `m`); the titles are ps's header. ps is first asked for those pids alone
 * (`-qPID,…`, procps's quick selection); options that cannot go with it (`f`, `-C`) make it fail,
 * and it runs again without it, its whole list filtered.
 * @throws TaskioError `ERR_INVALID_FIELD` when ps refuses the options (its first error line) or
 *   prints no PID column; `ERR_NOT_SUPPORTED` without a `ps`; `ETIMEDOUT` for one that hangs.
 */
export async function psTop(args: readonly string[], pids: readonly number[]): Promise<TopBody> {
  const ps = findBinary('ps');
  if (ps === null) throw new TaskioError('ERR_NOT_SUPPORTED', 'ps options need the host\'s ps (procps), not found in the daemon\'s PATH');
  const given = JSON.stringify(args.join(' '));
  let ran = pids.length > 0 ? await runPs(ps, [...args, `-q${pids.join(',')}`]) : null;
  if (ran === null || !answered(ran)) ran = await runPs(ps, [...args]);
  if (!answered(ran)) {
    const why = ran.stderr.split('\n').find((l) => l.trim() !== '')?.trim() ?? `it exited with status ${ran.exitCode}`;
    throw new TaskioError('ERR_INVALID_FIELD', `ps options ${given}: ps: ${why}`);
  }
  return keepTaskRows(ran.stdout, new Set(pids), given);
}

/** One run of `ps`; a ps that cannot be run or outlives its time is the daemon's failure, not the options'. */
async function runPs(ps: string, args: string[]): Promise<Ran> {
  const ran = await runCommand({ command: ps, args, timeout: psTimeoutMs });
  if (ran.spawnError !== undefined) throw new TaskioError('ERR_NOT_SUPPORTED', `ps options need the host's ps: ${ps} cannot be run (${ran.spawnError})`);
  if (ran.cut !== null) throw new TaskioError('ETIMEDOUT', `${ps} did not end within ${psTimeoutMs / 1000} s (killed)`);
  return ran;
}

/**
 * Whether ps printed a table: it succeeded, or it selected no process — procps then prints the
 * header alone and exits 1 without a word (`f` selects the daemon's terminal's, and it has none).
 */
function answered(ran: Ran): boolean {
  return !ran.failed || (ran.exitCode === 1 && ran.stderr.trim() === '' && ran.stdout.trim() !== '');
}

/** ps's table reduced to the rows of `pids`, each as many cells as titles (the last holds the rest: a command's spaces). */
function keepTaskRows(stdout: string, pids: ReadonlySet<number>, given: string): TopBody {
  const [header = '', ...lines] = stdout.split('\n');
  const titles = fieldsAscii(header);
  const pidColumn = titles.indexOf('PID');
  if (pidColumn < 0) {
    throw new TaskioError('ERR_INVALID_FIELD', `ps options ${given}: ps printed no PID column (titles: ${titles.join(' ') || 'none'}), which top needs to keep the task's processes: add pid to the format`);
  }
  const processes: string[][] = [];
  let keptAbove = false;
  for (const line of lines) {
    const fields = fieldsAscii(line);
    if (fields.length === 0) continue;
    const cell = fields[pidColumn] ?? '';
    // `-`: a thread of the process above (`m`), kept with it.
    if (cell !== '-') {
      if (!/^\d+$/.test(cell)) throw new TaskioError('ERR_INVALID_FIELD', `ps options ${given}: ps's PID column holds ${JSON.stringify(cell)}, not a pid`);
      keptAbove = pids.has(Number(cell));
    }
    if (keptAbove) processes.push([...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')]);
  }
  return { titles, processes };
}
