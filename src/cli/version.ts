import type { DaemonVersion } from '../daemon/client.js';
import { packageVersion } from '../packageFiles.js';
import { withRunningDaemon } from './daemonClient.js';
import type { VerbContext } from './verb.js';

/** Go's names for Node's architectures, as docker prints `OS/Arch`. */
const goArch: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64' };

function section(title: string, rows: Array<[string, string]>): string {
  return `${title}:\n${rows.map(([k, v]) => ` ${`${k}:`.padEnd(19)}${v}\n`).join('')}`;
}

/** The client's part of `version` and `info`: this command's version, its Node and platform. */
export function clientPart(): string {
  return section('Client', [
    ['Version', packageVersion()],
    ['Node.js version', process.version],
    ['OS/Arch', `${process.platform}/${goArch[process.arch] ?? process.arch}`],
  ]);
}

function runtimesText(r: DaemonVersion['runtimes']): string {
  const names = (['runsc', 'runc', 'host'] as const).filter((n) => n === 'host' || r[n] !== null);
  return names.map((n) => (n === r.default ? `${n} (default)` : n)).join(', ');
}

/**
 * `taskio version`: docker's two parts, the client's, then the daemon's (`GET /version`) when one
 * answers on the state root. Asking never starts a daemon, as `docker version` starts none; without
 * one the client's part is printed and the command fails with one line, as docker's does.
 */
export async function version(ctx: VerbContext): Promise<void> {
  ctx.stdout.write(clientPart());
  const v = await withRunningDaemon(ctx, (client) => client.version());
  ctx.stdout.write(`\n${section('Server', [
    ['Version', v.version],
    ['API version', String(v.apiVersion)],
    ['Node.js version', v.node],
    ['Root', v.root],
    ['Pid', String(v.pid)],
    ['Runtimes', runtimesText(v.runtimes)],
  ])}`);
}
