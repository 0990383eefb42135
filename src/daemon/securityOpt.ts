import { TaskioError } from '../errors.js';
import { checkSeccompProfile, type SeccompProfile } from './seccomp.js';

/**
 * docker's `--security-opt` values (the API's `securityOpt`, docker's `HostConfig.SecurityOpt`),
 * those that mean something for a runsc or runc task on this kind of host:
 * `no-new-privileges[=true|false]`, `seccomp=unconfined|builtin|<profile JSON>` (the CLI reads a
 * profile file and sends its JSON, as docker's does), `systempaths=unconfined`. This host has
 * neither AppArmor nor SELinux, so a task never has a profile or a label: `apparmor=unconfined`
 * and `label=disable`, which ask for none, are taken and change nothing; any other profile or
 * label is refused rather than silently not applied. `:` separates as `=` does (docker's old form,
 * still common in compose files: `no-new-privileges:true`).
 */

/** What the options of one task ask for, the last one of each kind winning (as docker reads them). */
export interface SecurityOptions {
  /** `no-new-privileges`: the process cannot gain privileges by exec (setuid, file capabilities). Unset: the spec's (taskio's own: true). */
  noNewPrivileges?: boolean;
  /** `seccomp=`: no filter, taskio's default one, or a profile. Unset: the default (runc), the bundle's own (a bundle). */
  seccomp?: 'unconfined' | 'builtin' | SeccompProfile;
  /** `systempaths=unconfined`: no masked or read-only paths (`/proc/kcore`, `/proc/sys`…). */
  unconfinedPaths?: boolean;
}

/** How the refusal of an unknown option names the ones there are. */
export const supportedSecurityOpts = 'no-new-privileges[=true|false], seccomp=unconfined|builtin|PROFILE.json, systempaths=unconfined, apparmor=unconfined, label=disable';

function invalid(message: string): TaskioError {
  return new TaskioError('ERR_INVALID_FIELD', message);
}

/** `KEY=VALUE` (or `KEY:VALUE`) as key and value; a bare key has no value. */
export function splitSecurityOpt(opt: string): [string, string | undefined] {
  const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : null;
  if (sep === null) return [opt, undefined];
  const at = opt.indexOf(sep);
  return [opt.slice(0, at), opt.slice(at + 1)];
}

/**
 * Reads one option into `into`; a seccomp profile must be its JSON text here.
 * @throws TaskioError `ERR_INVALID_FIELD` naming the option (and the supported ones when it is
 *   unknown), or the profile's own error ({@link checkSeccompProfile}).
 */
export function readSecurityOpt(opt: string, into: SecurityOptions = {}): SecurityOptions {
  const [key, value] = splitSecurityOpt(opt);
  const unknown = () => invalid(`security option ${JSON.stringify(opt)} is not supported (supported: ${supportedSecurityOpts})`);
  switch (key) {
    case 'no-new-privileges':
      if (value === undefined || value === 'true') into.noNewPrivileges = true;
      else if (value === 'false') into.noNewPrivileges = false;
      else throw invalid(`security option ${JSON.stringify(opt)}: no-new-privileges takes true or false`);
      return into;
    case 'seccomp':
      if (value === 'unconfined' || value === 'builtin') into.seccomp = value;
      else if (value?.trimStart().startsWith('{')) into.seccomp = checkSeccompProfile(parseJson(value));
      else throw invalid(`security option ${JSON.stringify(opt)}: give seccomp=unconfined, seccomp=builtin or a profile's JSON (taskio run reads a profile file)`);
      return into;
    case 'systempaths':
      if (value !== 'unconfined') throw unknown();
      into.unconfinedPaths = true;
      return into;
    case 'apparmor':
      if (value !== 'unconfined') throw invalid(`security option ${JSON.stringify(opt)}: this host has no AppArmor, so a task has no profile: only apparmor=unconfined is taken`);
      return into;
    case 'label':
      if (value !== 'disable') throw invalid(`security option ${JSON.stringify(opt)}: this host has no SELinux, so a task has no label: only label=disable is taken`);
      return into;
    default:
      throw unknown();
  }
}

/** The options of one task, read in order (a later one of a kind wins). */
export function readSecurityOpts(opts: readonly string[]): SecurityOptions {
  const into: SecurityOptions = {};
  for (const opt of opts) readSecurityOpt(opt, into);
  return into;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw invalid(`seccomp profile: not JSON (${(err as Error).message.replace(/\s+/g, ' ')})`);
  }
}
