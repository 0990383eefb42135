#!/usr/bin/env node
import { readFileSync } from 'node:fs';

/** The `taskio` command: for now it prints its version and help; later issues add subcommands. */
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const help = `taskio ${pkg.version} — stdio for long-running tasks

usage: taskio <command>

  version     print the version
  help        print this help
`;

const cmd = process.argv[2] ?? 'help';
if (cmd === 'version' || cmd === '--version' || cmd === '-v') {
  process.stdout.write(`${pkg.version}\n`);
} else if (cmd === 'help' || cmd === '--help' || cmd === '-h') {
  process.stdout.write(help);
} else {
  process.stderr.write(`taskio: unknown command ${JSON.stringify(cmd)}\n\n${help}`);
  process.exitCode = 2;
}
