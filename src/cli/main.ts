#!/usr/bin/env node
import { readFileSync } from 'node:fs';

/** The `taskio` command: for now it prints its version and help; later issues add subcommands. */
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const help = `taskio ${pkg.version} — stdio for long-running tasks

usage: taskio <command>

  daemon [--root DIR]   run the taskio daemon in the foreground (state root: --root,
                        $TASKIO_ROOT, /run/taskio as root, else $XDG_RUNTIME_DIR/taskio)
  version     print the version
  help        print this help
`;

const cmd = process.argv[2] ?? 'help';
if (cmd === 'version' || cmd === '--version' || cmd === '-v') {
  process.stdout.write(`${pkg.version}\n`);
} else if (cmd === 'daemon') {
  const args = process.argv.slice(3);
  let root: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--root' && i + 1 < args.length) root = args[++i];
    else if (a.startsWith('--root=')) root = a.slice('--root='.length);
    else {
      process.stderr.write(`taskio daemon: unknown argument ${JSON.stringify(a)}\n\nusage: taskio daemon [--root DIR]\n`);
      process.exit(2);
    }
  }
  const { runDaemonMain } = await import('../daemon/daemon.js');
  await runDaemonMain(root);
} else if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
  process.stdout.write(help);
} else {
  process.stderr.write(`taskio: unknown command ${JSON.stringify(cmd)}\n\n${help}`);
  process.exitCode = 2;
}
