/**
 * The one wording of a refusal because task `id` is not running (exited), whichever verb needed it
 * running — the daemon's state table (kill, pause, exec, top, attach's io) and the command's own
 * checks (attach, cp) — in docker's words (moby's `container <id> is not running`).
 */
export function notRunning(id: string): string {
  return `task ${id} is not running`;
}
