import type { SystemInfo } from '../daemon/info.js';
import { withRunningDaemon } from './daemonClient.js';
import type { Json, Template } from './template.js';
import { bytesSize } from './units.js';
import type { VerbContext } from './verb.js';
import { clientPart } from './version.js';

/** docker's `Security Options:` rows, indented under it: each option's name, then its other keys (`name=seccomp,profile=builtin` → `seccomp`, ` Profile: builtin`). */
function securityRows(options: readonly string[]): string[] {
  return options.flatMap((option) => option.split(',').map((kv) => {
    const [, k = '', v = ''] = /^([^=]*)=?(.*)$/.exec(kv)!;
    return k === 'name' ? ` ${v}` : `  ${k.charAt(0).toUpperCase()}${k.slice(1)}: ${v}`;
  }));
}

function cgroupVersionText(i: SystemInfo): string {
  return i.CgroupMode === 'hybrid' ? `${i.CgroupVersion} (hybrid: taskio's jobs use the v1 controllers and the cgroup2 mount)` : i.CgroupVersion;
}

/** The server's part in docker's layout: ` Key: value` lines, the counts and security options nested under theirs. */
function serverPart(i: SystemInfo): string {
  const names = Object.keys(i.Runtimes).sort() as Array<keyof SystemInfo['Runtimes']>;
  const lines = [
    `Tasks: ${i.Containers}`, ` Running: ${i.ContainersRunning}`, ` Paused: ${i.ContainersPaused}`, ` Stopped: ${i.ContainersStopped}`,
    `Server Version: ${i.ServerVersion}`,
    `API Version: ${i.ApiVersion}`,
    `Logging Driver: ${i.LoggingDriver}`,
    `Cgroup Driver: ${i.CgroupDriver}`,
    `Cgroup Version: ${cgroupVersionText(i)}`,
    `Runtimes: ${names.join(' ')}`,
    `Default Runtime: ${i.DefaultRuntime}`,
    ...names.flatMap((n) => (i.Runtimes[n]?.version ? [`${n} version: ${i.Runtimes[n].version}`] : [])),
    ...(i.SecurityOptions.length > 0 ? ['Security Options:', ...securityRows(i.SecurityOptions)] : []),
    `Kernel Version: ${i.KernelVersion}`,
    `Operating System: ${i.OperatingSystem}`,
    `OSType: ${i.OSType}`,
    `Architecture: ${i.Architecture}`,
    `CPUs: ${i.NCPU}`,
    `Total Memory: ${bytesSize(i.MemTotal)}`,
    `Name: ${i.Name}`,
    `Root Dir: ${i.RootDir}`,
    `Pid: ${i.Pid}`,
    `Node.js Version: ${i.NodeVersion}`,
    `Live Restore Enabled: ${i.LiveRestoreEnabled}`,
  ];
  return `Server:\n${lines.map((l) => ` ${l}\n`).join('')}`;
}

/**
 * `taskio info [-f FORMAT]`: docker's system-wide summary — the client's part, then the daemon's
 * (`GET /info`: tasks by state, versions, runtimes, cgroups, security options, the host), its
 * warnings on stderr as docker prints them. `--format json` is the daemon's JSON on one line,
 * `--format TEMPLATE` a Go template over it (`{{.ContainersRunning}}`; a missing field is an
 * error). Asking never starts a daemon: without one, the client's part (no format given) and one
 * error line, exit 125, as `version`.
 */
export async function info(ctx: VerbContext): Promise<void> {
  const format = ctx.args.value<'json' | Template>('format');
  if (format === undefined) ctx.stdout.write(clientPart());
  const i = await withRunningDaemon(ctx, (client) => client.info());
  if (format !== undefined) {
    ctx.stdout.write(`${format === 'json' ? JSON.stringify(i) : format.execute(i as unknown as Json)}\n`);
    return;
  }
  ctx.stdout.write(`\n${serverPart(i)}`);
  for (const w of i.Warnings) ctx.stderr.write(`WARNING: ${w}\n`);
}
