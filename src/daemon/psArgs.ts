import { TaskioError } from '../errors.js';

/** Splits on ASCII whitespace only, as moby's `fieldsASCII` (a Unicode space stays in its word). */
export function fieldsAscii(s: string): string[] {
  return s.split(/[\t\n\f\r ]+/).filter((w) => w !== '');
}

/**
 * The `ps` options of a `top` request (docker's `ps_args`: what `docker top ID …` joined with
 * spaces), as arguments: split on whitespace, as dockerd does. Blank or absent: none (the daemon's
 * own listing). A column renamed to a title starting with `PID` (`-o user=PID`) is refused before
 * ps runs, as moby's `validatePSArgs` does: `top` keeps the rows whose PID column is one of the
 * task's pids, and such a column would show the host's processes whose user, parent or session
 * happens to match. Only `pid=PID…` may be so titled.
 * @throws TaskioError `ERR_INVALID_FIELD` naming the renamed column.
 */
export function parsePsArgs(psArgs: string | undefined): string[] {
  const args = fieldsAscii(psArgs ?? '');
  for (const word of args) {
    const renamed = renamedToPid(word);
    if (renamed !== null) {
      throw new TaskioError('ERR_INVALID_FIELD', `ps options: specifying ${JSON.stringify(renamed)} is not allowed: only pid may be titled PID (top keeps the rows whose PID column holds one of the task's pids)`);
    }
  }
  return args;
}

/**
 * The first `KEY=PID…` of one ps argument whose KEY is not `pid`, or null. KEY is the format
 * specifier right before the `=` (after a `,` or another `=`, as in `--format=user=PID`); at the
 * start of the argument without the option that may be glued to it (`-ouser`, `ouser`).
 */
function renamedToPid(word: string): string | null {
  for (let eq = word.indexOf('='); eq >= 0; eq = word.indexOf('=', eq + 1)) {
    if (!word.startsWith('PID', eq + 1)) continue;
    const start = Math.max(word.lastIndexOf(',', eq - 1), word.lastIndexOf('=', eq - 1)) + 1;
    const key = word.slice(start, eq);
    const name = start === 0 ? key.replace(/^(--format|-o|o)/, '') : key;
    if (name !== 'pid') return `${key}=${word.slice(eq + 1)}`;
  }
  return null;
}
