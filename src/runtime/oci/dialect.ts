import type { Dialect } from './types.js';
import { missingBinaryError, runBounded, timeoutError } from './spawn.js';
import { defaultTimeouts } from './timeouts.js';

/** What a runtime binary is and which subcommands it has, learnt once per binary path. */
export interface RuntimeFeatures {
  dialect: Dialect;
  /** The first line of `--version`, e.g. `runsc version 0.0~20221219.0`. */
  version: string;
  /** Subcommands listed by its help (`update`, `checkpoint`, `features` …). */
  commands: ReadonlySet<string>;
}

const cache = new Map<string, Promise<RuntimeFeatures>>();

/**
 * Asks the binary who it is (`--version`) and what it can do (`help` / `--help`), once per command:
 * a runsc-compatible wrapper named anything still gets the runsc dialect, and a subcommand is used
 * only when its help lists it (runsc 2022 has no `update`). Each of the two commands is killed
 * after `timeout` ms (default 10 s, 0 = none), failing with `ERR_RUNTIME_TIMEOUT`; a failed probe
 * is not remembered.
 */
export function detectFeatures(command: string, opts: { timeout?: number } = {}): Promise<RuntimeFeatures> {
  let p = cache.get(command);
  if (!p) {
    p = probe(command, opts.timeout ?? defaultTimeouts.version);
    // A failed probe (binary missing for now) must not stick: the next call tries again.
    p.catch(() => cache.delete(command));
    cache.set(command, p);
  }
  return p;
}

async function probe(command: string, timeout: number): Promise<RuntimeFeatures> {
  const ask = async (args: string[]) => {
    const { result, cut } = await runBounded(command, args, { stdin: 'ignore' }, { timeout });
    if (result.code === 'ENOENT' || result.code === 'EACCES') throw missingBinaryError(command, result.code, result);
    if (cut === 'timeout') throw timeoutError({ command, args, subcommand: args[0]! }, timeout, result);
    return result;
  };
  const v = await ask(['--version']);
  const version = (String(v.stdout).split('\n')[0] ?? '').trim();
  const dialect: Dialect = /^runsc\b/i.test(version) ? 'runsc' : /gvisor/i.test(String(v.stdout)) ? 'runsc' : 'runc';
  // runsc prints its subcommand list for `help`, runc (urfave/cli) for `--help`; both indent names.
  const h = await ask(dialect === 'runsc' ? ['help'] : ['--help']);
  const commands = new Set<string>();
  for (const line of `${String(h.stdout)}\n${String(h.stderr)}`.split('\n')) {
    const m = /^\s+([a-z][a-z-]*)(?:,\s*[a-z]+)?\s{2,}\S/.exec(line);
    if (m?.[1]) commands.add(m[1]);
  }
  return { dialect, version, commands };
}
