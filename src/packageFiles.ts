import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The directory of taskio's own package.json. Found by walking up from this module, not by a fixed
 * `../..`: the same module runs from `dist/` when installed, from `src/` under a TypeScript loader,
 * and from `dist-test/src/` in the compiled tests, and a fixed depth lands somewhere else in two of
 * those.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (readPackage(dir)?.name === 'taskio') return (root = dir);
    if (path.dirname(dir) === dir) throw new Error(`no package.json of taskio above ${start}`);
  }
}

function readPackage(dir: string): { name?: string; version?: string } | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
  } catch {
    return null;
  }
}

/** The version of the installed taskio package (`0.0.0` when its package.json cannot be read). */
export function packageVersion(): string {
  try {
    return readPackage(packageRoot())?.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * A file of the built package, `dist/<rel>`: what taskio starts as a separate Node process (the
 * daemon, the soak's clients) is always the built JavaScript, whichever copy of a module asks.
 */
export function builtFile(rel: string): string {
  return path.join(packageRoot(), 'dist', rel);
}
