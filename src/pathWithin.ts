import path from 'node:path';

/**
 * Whether `target` is `base` itself or lies below it, judged on the paths as given: no symlink is
 * resolved here (a caller guarding against them resolves both first). A `..` step out, or another
 * root, is outside.
 */
export function isWithin(base: string, target: string): boolean {
  const rel = path.relative(base, target);
  return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
