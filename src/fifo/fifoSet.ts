import fs from 'node:fs';
import path from 'node:path';
import { ensureRuntimeRoot, notPrivate } from '../privateDir.js';
import { isCode } from '../sys/index.js';
import { type Config, validateId } from './config.js';

/**
 * A task's FIFO paths plus what removes them. `close()` runs the remover once, however often
 * and concurrently it is called.
 */
export class FIFOSet {
  readonly config: Config;
  readonly #remover: (() => Promise<void>) | undefined;
  #closing: Promise<void> | null = null;

  constructor(config: Config, close?: () => Promise<void>) {
    this.config = { ...config };
    this.#remover = close;
  }

  /** Removes what the set's creator made (nothing for a set built from bare paths); idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#remover ? this.#remover() : Promise.resolve();
    return this.#closing;
  }
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
 * @throws TaskioError `ERR_INVALID_ID` for an id that could escape the directory (checked before
 * anything is made); `ERR_UNSAFE_DIR` naming a root another user could control.
 */
export async function newFIFOSetInDir(root: string, id: string, terminal: boolean): Promise<FIFOSet> {
  validateId(id);
  // Synchronous on purpose: these are metadata calls on a local (usually tmpfs) directory that
  // finish in microseconds, and a threadpool round trip each would cost more than the call.
  const dir = fs.mkdtempSync(path.join(privateRoot(root), `${id}-`));
  const config: Config = {
    terminal,
    stdin: path.join(dir, `${id}-stdin`),
    stdout: path.join(dir, `${id}-stdout`),
    stderr: terminal ? '' : path.join(dir, `${id}-stderr`),
  };
  // Everything this set may have created, including a stderr made by a caller that ignored
  // terminal mode; files taskio did not name stay, and then so does the directory.
  const created = new Set(['stdin', 'stdout', 'stderr'].map((s) => `${id}-${s}`));
  return new FIFOSet(config, async () => {
    // One listing instead of an unlink per name: a FIFO nobody opened (often stdin) was never
    // made, and a failed unlink costs an exception.
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (err) {
      if (isCode(err, 'ENOENT')) return;
      throw err;
    }
    for (const name of names) {
      if (!created.has(name)) continue;
      try {
        fs.unlinkSync(path.join(dir, name));
      } catch (err) {
        if (!isCode(err, 'ENOENT')) throw err;
      }
    }
    try {
      fs.rmdirSync(dir);
    } catch (err) {
      if (!isCode(err, 'ENOENT') && !isCode(err, 'ENOTEMPTY')) throw err;
    }
  });
}

/** Roots that passed {@link ensureRuntimeRoot} in this process, by absolute path, with the identity they had. */
const checkedRoots = new Map<string, { dev: number; ino: number }>();
const maxCheckedRoots = 64;

/**
 * {@link ensureRuntimeRoot} once per root and process, then one `lstat` per set: the root must still
 * be the very directory that passed (same device and inode), a real directory owned by this user
 * that group and others cannot write. That is as strict as checking the whole chain again: every
 * directory of the chain was private when it was checked, so no other user can rename or replace
 * anything in it, and a root put in place by anyone (or recreated after a cleanup) has another
 * identity and is checked in full again. A root that changed to a symlink, another owner or a
 * looser mode fails the lstat test and then the full check, naming the reason.
 */
function privateRoot(root: string): string {
  const abs = path.resolve(root);
  const known = checkedRoots.get(abs);
  if (known) {
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (st && !notPrivate(st) && st.dev === known.dev && st.ino === known.ino) return abs;
    checkedRoots.delete(abs);
  }
  ensureRuntimeRoot(abs);
  const st = fs.lstatSync(abs);
  if (!notPrivate(st)) {
    if (checkedRoots.size >= maxCheckedRoots) checkedRoots.clear();
    checkedRoots.set(abs, { dev: st.dev, ino: st.ino });
  }
  return abs;
}

