import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * Tells whether the module at `url` (its `import.meta.url`) is the program node was started with,
 * as opposed to imported — through a symlink too (`npm` links executables into `.bin`).
 */
export function isMainModule(url: string): boolean {
  const main = process.argv[1];
  if (main === undefined) return false;
  try {
    return url === pathToFileURL(fs.realpathSync(main)).href;
  } catch {
    return false;
  }
}
