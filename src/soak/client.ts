/**
 * A client in a process of its own, for the reattach soak. Started ahead of its turn, it prints
 * `ready` and waits for a line `go <limit>` on stdin; then it attaches to the task's stdout FIFO
 * (`newAttach`), writes every chunk it receives to its file at once (`writeSync`, before the next
 * read), prints `limit` once it holds `limit` bytes, and goes on reading until it is killed. So
 * what it received is in the file, except a read in flight when the SIGKILL landed. Before each
 * chunk's bytes it appends the chunk's length to `<file>.sizes`: a length there whose bytes are
 * not all in the file is the read the kill cut short.
 *
 * Usage: node client.js <stdout FIFO> <file>
 */
import fs from 'node:fs';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { newAttach, nonRetaining, withStreams } from '../attach/index.js';
import { newFIFOSet } from '../fifo/index.js';

async function main(): Promise<void> {
  const [stdout, file] = process.argv.slice(2);
  if (!stdout || !file) throw new Error('usage: client.js <stdout FIFO> <file>');
  process.stdout.write('ready\n');
  let input = '';
  while (!input.includes('\n')) {
    const [chunk] = (await once(process.stdin, 'data')) as [Buffer];
    input += chunk.toString();
  }
  process.stdin.pause();
  const limit = Number(/^go (\d+)/.exec(input)?.[1] ?? NaN);
  if (!Number.isSafeInteger(limit)) throw new Error(`expected "go <limit>", got ${JSON.stringify(input)}`);
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;
  const fd = fs.openSync(file, flags, 0o600);
  const sizes = fs.openSync(`${file}.sizes`, flags, 0o600);
  let held = 0, told = false;
  const tell = (): void => {
    if (!told && held >= limit) {
      told = true;
      process.stdout.write('limit\n');
    }
  };
  // Done with each chunk before its callback: the copy engine may lend its buffers.
  const sink = nonRetaining(new Writable({
    write(chunk: Buffer, _e, cb) {
      fs.writeSync(sizes, `${chunk.length}\n`);
      fs.writeSync(fd, chunk);
      held += chunk.length;
      tell();
      cb();
    },
  }));
  await newAttach(withStreams(null, sink, null))(newFIFOSet({ terminal: false, stdin: '', stdout, stderr: '' }));
  tell(); // a limit of 0
  // Reads until killed; the FIFO keeps the event loop alive.
}

main().catch((err: NodeJS.ErrnoException) => {
  process.stdout.write(`error ${err.code ?? ''} ${err.message}\n`);
  process.exitCode = 1;
});
