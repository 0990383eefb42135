import { TaskioError } from '../errors.js';
import { mergeEnv } from '../mergeEnv.js';
import { readRegularFileSync } from '../readRegularFile.js';
import type { ParsedArgs } from './flags.js';
import { parseEnv } from './values.js';

/**
 * The largest `--env-file`: Linux takes at most 2 MiB of arguments and environment for a whole
 * command (`ARG_MAX` with the default 8 MiB stack), so a larger file cannot be one.
 */
const maxEnvFileBytes = 1 << 20;

/**
 * `--env-file FILE`, in docker's format: one variable a line, leading white space ignored, blank
 * lines and lines starting with `#` skipped; `K=V` is taken as written (quotes are part of the
 * value, as in docker), a bare `K` takes `K`'s value from this process's environment and is left
 * out when it is not set there. The file is opened without blocking and read only when it is a
 * regular file (a FIFO named here would otherwise hold the command).
 * @throws TaskioError `ERR_INVALID_ARG_VALUE` naming the file and line: a name with white space
 * or a NUL byte, an empty name; `ERR_FS_FILE_TOO_LARGE` above 1 MiB; the open's own error for a
 * file that cannot be read.
 */
export function readEnvFile(file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const text = readRegularFileSync(file, { followLinks: true, maxBytes: maxEnvFileBytes });
  if (text === null) throw new TaskioError('ERR_INVALID_ARG_VALUE', `${file} is not a regular file`);
  const out: string[] = [];
  for (const [i, raw] of text.replace(/^\uFEFF/, '').split(/\r?\n/).entries()) {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#')) continue;
    const key = line.split('=', 1)[0]!;
    const bad = (why: string): TaskioError => new TaskioError('ERR_INVALID_ARG_VALUE', `${file}, line ${i + 1}: ${why}`);
    if (/\s/.test(key)) throw bad(`variable '${key}' contains white space`);
    try {
      const entry = parseEnv(line, env);
      if (entry !== undefined) out.push(entry);
    } catch (err) {
      throw bad((err as Error).message);
    }
  }
  return out;
}

/**
 * A task's environment from the command line, as docker merges it: the `--env-file`s in order,
 * then the `-e`s; a variable given twice keeps its first place and its last value.
 */
export function commandEnv(a: ParsedArgs): string[] {
  return mergeEnv([...a.list<string[]>('env-file').flat(), ...a.list<string | undefined>('env')].filter((e): e is string => e !== undefined));
}
