import { TaskioError } from '../errors.js';
import { readRegularFileSync } from '../readRegularFile.js';
import { checkSeccompProfile } from '../daemon/seccomp.js';
import { readSecurityOpt, splitSecurityOpt } from '../daemon/securityOpt.js';

/** The largest profile file: docker's own default profile is some 20 KB, the daemon takes bodies of 1 MiB. */
const maxProfileBytes = 512 * 1024;

/**
 * `--security-opt OPT`, as docker's CLI reads it: `seccomp=FILE` (any value but `unconfined` and
 * `builtin`) names a profile file, which is read here and sent as its JSON (`seccomp={…}`); every
 * option — the profile too — is checked before anything is made, so a bad one is one line and 125.
 * @throws TaskioError naming the option (the parser adds the flag and value), the file's own error
 *   for a profile that cannot be read, `ERR_INVALID_ARG_VALUE` for one that is not a regular file.
 */
export function parseSecurityOpt(opt: string): string {
  const [key, value] = splitSecurityOpt(opt);
  if (key !== 'seccomp' || !value || value === 'unconfined' || value === 'builtin') {
    readSecurityOpt(opt);
    return opt;
  }
  const text = readRegularFileSync(value, { followLinks: true, maxBytes: maxProfileBytes });
  if (text === null) throw new TaskioError('ERR_INVALID_ARG_VALUE', `seccomp profile ${value} is not a regular file`);
  let profile: unknown;
  try {
    profile = JSON.parse(text);
  } catch (err) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `seccomp profile ${value} is not JSON (${(err as Error).message.replace(/\s+/g, ' ')})`);
  }
  try {
    checkSeccompProfile(profile);
  } catch (err) {
    throw new TaskioError((err as TaskioError).code, `${value}: ${(err as Error).message}`, { cause: err });
  }
  return `seccomp=${JSON.stringify(profile)}`;
}
