import type * as NodePty from 'node-pty';
import { loadNative } from '../../sys/index.js';

/*
 * node-pty, loaded on the first host terminal instead of at import, so `import 'taskio'` works where
 * node-pty has no binary (a terminal then fails with an `ERR_NATIVE_MODULE` that names it). The names
 * match node-pty's own, so `import * as pty from './pty.js'` reads like `import * as pty from 'node-pty'`.
 */

/** A process running on a pty (node-pty's). */
export type IPty = NodePty.IPty;

/** node-pty itself, loaded on the first call; `ERR_NATIVE_MODULE` when it cannot be. */
export function loadPty(): typeof NodePty {
  return loadNative<typeof NodePty>('node-pty', 'a host terminal');
}

/** node-pty's `spawn`. */
export function spawn(file: string, args: string[], options: NodePty.IPtyForkOptions): IPty {
  return loadPty().spawn(file, args, options);
}
