import { packageVersion } from '../packageFiles.js';
import type { VerbContext } from './verb.js';

/** Go's names for Node's architectures, as docker prints `OS/Arch`. */
const goArch: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64' };

/**
 * `taskio version`: the client's part of `docker version` (the daemon's part comes with the
 * daemon's client).
 */
export function version(ctx: VerbContext): void {
  const rows: Array<[string, string]> = [
    ['Version', packageVersion()],
    ['Node.js version', process.version],
    ['OS/Arch', `${process.platform}/${goArch[process.arch] ?? process.arch}`],
  ];
  ctx.stdout.write(`Client:\n${rows.map(([k, v]) => ` ${`${k}:`.padEnd(19)}${v}\n`).join('')}`);
}
