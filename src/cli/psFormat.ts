import type { TaskView } from '../daemon/task.js';
import { listFormatParser } from './format.js';
import { createdText, statusText } from './status.js';
import { ellipsis } from './table.js';
import { stringArg, withMethods, type Method } from './template.js';

/**
 * What a `ps --format` template sees of a task — docker's names for what taskio has (`.Names` is
 * the id, a task's only name; `.Runtime` and `.Pid` are taskio's own) — and each one's column name
 * in a `table` header, docker's where docker has the field (`.RunningFor` is CREATED).
 */
export const psColumns = {
  ID: 'ID', Names: 'NAMES', Image: 'IMAGE', Runtime: 'RUNTIME', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED',
  Status: 'STATUS', State: 'STATE', Pid: 'PID', Labels: 'LABELS',
} as const;

/** taskio's `ps` table: the template `--format table` stands for (docker's default is a template too). */
const psTable = 'table {{.ID}}\t{{.Runtime}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Pid}}';

/** docker's methods of a `ps` row: `.Label "key"`, that label's value ('' for a label the task lacks). */
function psMethods(labels: Readonly<Record<string, string>>): Record<string, Method> {
  return { Label: (key) => (Object.hasOwn(labels, stringArg(key)) ? labels[key as string]! : '') };
}

/** `ps --format`: `table` (the default), `json`, `table TEMPLATE` or `TEMPLATE` (see {@link listFormatParser}). */
export const parsePsFormat = listFormatParser(psColumns, psTable, psMethods({}));

/** docker's width of the COMMAND column before it is cut (`ps` without `--no-trunc`). */
const commandWidth = 20;

const two = (n: number): string => String(n).padStart(2, '0');

/**
 * Go's `time.Time.String()` of the whole second, in this machine's zone, as docker's `.CreatedAt`:
 * `2024-05-01 14:03:07 +0200 CEST` (the zone's name as Node knows it: `UTC`, or `GMT+2` where Go says `CEST`).
 */
function goTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const off = -d.getTimezoneOffset();
  const zone = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '';
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} `
    + `${off < 0 ? '-' : '+'}${two(Math.trunc(Math.abs(off) / 60))}${two(Math.abs(off) % 60)} ${zone}`;
}

/**
 * A task as a `ps` template sees it: strings, as docker's container fields are, the values of
 * taskio's own table (the COMMAND quoted, and cut at 20 columns unless `--no-trunc`; no PID once
 * exited), and docker's `.Label "key"`.
 */
export function psFields(t: TaskView, now: Date, trunc: boolean): Record<keyof typeof psColumns, string> {
  const command = t.args.join(' ');
  const live = t.status === 'running' || t.status === 'paused';
  return withMethods({
    ID: t.id,
    Names: t.id,
    Image: t.image,
    Runtime: t.runtime,
    // Quoted as docker quotes it, so a command with spaces reads as one cell.
    Command: JSON.stringify(trunc ? ellipsis(command, commandWidth) : command),
    CreatedAt: goTime(t.created),
    RunningFor: createdText(t.created, now),
    Status: statusText({ state: t.status, startedAt: t.started, exitedAt: t.exit?.exitedAt ?? null, exitCode: t.exit?.exitCode ?? null, health: t.health?.status ?? null }, now),
    State: t.status,
    Pid: live && t.pid > 0 ? String(t.pid) : '',
    // docker's: key=value pairs joined by commas, keys sorted.
    Labels: Object.entries(t.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join(','),
  }, psMethods(t.labels ?? {}));
}
