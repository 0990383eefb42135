/**
 * Where runsc (2022) keeps a container's state under its root: `<sandbox id>_sandbox:<container
 * id>.state`, beside a `.lock` of the same name. A root container is its own sandbox.
 */
export function runscStateName(id: string, ext: 'state' | 'lock', sandbox = id): string {
  return `${sandbox}_sandbox:${id}.${ext}`;
}

/** Whether `entry` of a runsc root is the state file of container `id`, in whichever sandbox. */
export function isRunscStateOf(entry: string, id: string): boolean {
  return entry.endsWith(`_sandbox:${id}.state`);
}
