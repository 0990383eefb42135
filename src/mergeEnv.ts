/**
 * `KEY=value` entries merged as docker and the runtimes merge an environment: an entry replaces an
 * earlier one of the same name, which keeps its place (the first one's), with the last value.
 */
export function mergeEnv(entries: Iterable<string>): string[] {
  const byName = new Map<string, string>();
  for (const kv of entries) byName.set(kv.slice(0, kv.indexOf('=')), kv);
  return [...byName.values()];
}
