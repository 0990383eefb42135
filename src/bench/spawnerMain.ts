/**
 * The spawner's process (see {@link Spawner}): reads one JSON request per line on stdin
 * (`{ id, cmd, args, env }`), runs each command, and answers one JSON line per command on stdout with
 * its exit code, signal and output. Exits when stdin ends.
 */
import readline from 'node:readline';
import { runCollected, type Spawner } from './spawner.js';

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, cmd, args, env } = JSON.parse(line) as { id: number; cmd: string; args: string[]; env?: NodeJS.ProcessEnv };
  void runCollected(cmd, args, env).then((r) => process.stdout.write(`${JSON.stringify({ id, ...r })}\n`));
}).on('close', () => process.exit(0));
