import fs from 'node:fs';
import path from 'node:path';
import { ensureRuntimeRoot, notPrivate } from '../privateDir.js';
import { TaskioError, showValue } from '../errors.js';
import { isCode, unlinkIfPresent } from '../sys/index.js';
import { type Config, checkConfig, checkPath, validateId } from './config.js';

/**
 * A task's FIFO paths plus what removes them. `close()` runs the remover once, however often
 * and concurrently it is called.
 */
export class FIFOSet {
  readonly config: Config;
  readonly #remover: (() => Promise<void>) | undefined;
  #closing: Promise<void> | null = null;

  /**
   * @throws TaskioError `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE` for a config that is not
   *   `{ terminal: boolean, stdin, stdout, stderr }` with paths or `''`, or a `close` that is no function.
   */
  constructor(config: Config, close?: () => Promise<void>) {
    // Here, where every set comes in: its paths go to mkfifo and open as they are.
    checkConfig(config);
    if (close !== undefined && typeof close !== 'function') {
      throw new TaskioError('ERR_INVALID_ARG_TYPE', `a FIFO set's close must be a function, got ${showValue(close)}`);
    }
    this.config = { ...config };
    this.#remover = close;
  }

  /** Removes what the set's creator made (nothing for a set built from bare paths); idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#remover ? this.#remover() : Promise.resolve();
    return this.#closing;
  }
}

/**
 * Checks that `set` is a {@link FIFOSet}: what `what` (`newAttach`, `newDirectIO`) needs. Returns it.
 * @throws TaskioError `ERR_INVALID_ARG_TYPE` naming the value.
 */
export function checkFIFOSet(set: unknown, what: string): FIFOSet {
  if (!(set instanceof FIFOSet)) throw new TaskioError('ERR_INVALID_ARG_TYPE', `${what} needs a FIFOSet (newFIFOSet(config)), got ${showValue(set)}`);
  return set;
}

/** Wraps existing paths (or URIs) as a FIFO set; `close` is what its `close()` runs, if anything. */
export function newFIFOSet(config: Config, close?: () => Promise<void>): FIFOSet {
  return new FIFOSet(config, close);
}

/**
 * Makes a fresh 0700 directory inside `root` and names the task's FIFOs
 * `<dir>/<id>-stdin|-stdout|-stderr` (no stderr for a terminal). `root` is created 0700 when
 * missing and must be private: a real directory of this user that group and others cannot write
 * (under taskio's runtime directory, every directory from that base down to it), or another user
 * could plant FIFOs or symlinks where the task's stdio goes. The FIFOs themselves are made by
 * whoever opens them first. `close()` removes those FIFOs, then the directory if it is
 * empty — never a tree taskio did not make.
 * @throws TaskioError `ERR_INVALID_ID` for an id that could escape the directory, `ERR_INVALID_ARG_TYPE`
 * / `ERR_INVALID_ARG_VALUE` for a root that is no path (`''` would be the current directory) or a
 * `terminal` that is no boolean (all checked before anything is made); `ERR_UNSAFE_DIR` naming a
 * root another user could control.
 */
export async function newFIFOSetInDir(root: string, id: string, terminal: boolean): Promise<FIFOSet> {
  checkPath(root, 'the FIFO directory');
  validateId(id);
  if (typeof terminal !== 'boolean') throw new TaskioError('ERR_INVALID_ARG_TYPE', `terminal must be a boolean, got ${showValue(terminal)}`);
  // Synchronous on purpose: these are metadata calls on a local (usually tmpfs) directory that
  // finish in microseconds, and a threadpool round trip each would cost more than the call.
  // Absolute: the paths go to a task host (a shim, runc, the daemon) that has a cwd of its own.
  const dir = fs.mkdtempSync(path.join(privateRoot(path.resolve(root)), `${id}-`));
  const config: Config = {
    terminal,
    stdin: path.join(dir, `${id}-stdin`),
    stdout: path.join(dir, `${id}-stdout`),
    stderr: terminal ? '' : path.join(dir, `${id}-stderr`),
  };
  // Everything this set may have created, including a stderr made by a caller that ignored
  // terminal mode; files taskio did not name stay, and then so does the directory.
  const created = ['stdin', 'stdout', 'stderr'].map((s) => path.join(dir, `${id}-${s}`));
  return new FIFOSet(config, async () => {
    // One unlink per name, a missing one (a FIFO nobody opened, often stdin) costing one failed
    // call and no exception: three calls, where listing the directory first costs five.
    for (const name of created) unlinkIfPresent(name);
    try {
      fs.rmdirSync(dir);
    } catch (err) {
      if (!isCode(err, 'ENOENT') && !isCode(err, 'ENOTEMPTY')) throw err;
    }
  });
}

/** Roots that passed {@link ensureRuntimeRoot} in this process, by absolute path, with the identity and owner they had. */
const checkedRoots = new Map<string, { dev: number; ino: number; uid: number }>();
const maxCheckedRoots = 64;

/**
 * {@link ensureRuntimeRoot} once per root and process, then one `lstat` per set: the root must still
 * be the very directory that passed (same device and inode), a real directory owned by the user it
 * passed for, that group and others cannot write. That is as strict as checking the whole chain
 * again: every directory of the chain was private when it was checked, so no other user can rename
 * or replace anything in it, and a root put in place by anyone (or recreated after a cleanup) has
 * another identity and is checked in full again. A root that changed to a symlink, another owner or
 * a looser mode fails the lstat test and then the full check, naming the reason. The owner is
 * compared with the one recorded, not with a fresh `geteuid()`: a system call per set saved, and a
 * process that later changes its effective uid keeps trusting only roots it made private itself.
 */
function privateRoot(root: string): string {
  const abs = path.resolve(root);
  const known = checkedRoots.get(abs);
  if (known) {
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (st && !notPrivate(st, known.uid) && st.dev === known.dev && st.ino === known.ino) return abs;
    checkedRoots.delete(abs);
  }
  ensureRuntimeRoot(abs);
  const st = fs.lstatSync(abs);
  if (!notPrivate(st)) {
    if (checkedRoots.size >= maxCheckedRoots) checkedRoots.clear();
    checkedRoots.set(abs, { dev: st.dev, ino: st.ino, uid: st.uid });
  }
  return abs;
}
