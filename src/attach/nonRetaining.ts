import fs from 'node:fs';
import net from 'node:net';
import type { Writable } from 'node:stream';

/** Marks a `Writable` that never keeps a chunk after its write callback ran (see {@link nonRetaining}). */
export const kNonRetaining: unique symbol = Symbol.for('taskio.nonRetaining') as never;

/**
 * Declares that `w` is done with each chunk once its write callback has run — Go's `io.Writer`
 * contract. The copy engine then lends its read buffers to `w` instead of copying every chunk.
 * Node's `fs.WriteStream` and `net.Socket` (process.stdout on a pipe or TTY included) are known to
 * behave so and need no mark; a `PassThrough`, or a sink that pushes chunks into an array, must not
 * be marked: it would see its data change under it.
 */
export function nonRetaining<T extends Writable>(w: T): T {
  (w as unknown as Record<symbol, boolean>)[kNonRetaining] = true;
  return w;
}

/** Tells whether chunks may be lent to `w` rather than copied. */
export function borrowsSafely(w: Writable): boolean {
  return (w as unknown as Record<symbol, unknown>)[kNonRetaining] === true || w instanceof fs.WriteStream || w instanceof net.Socket;
}
