// Starts N pending writer opens (no reader ever comes) and then, by mode:
// - exit: asks to exit; the process must exit promptly, which it cannot if an open blocks a libuv
//   threadpool thread;
// - idle: does nothing more; with nothing written, the pending opens must not keep it alive;
// - written: also writes "data" to <dir>/f0 (argv[3] counts it) and ends it; that writer has data
//   pending, so it keeps the process alive until a reader takes the data.
import { openFifo } from '../../dist/index.js';
import path from 'node:path';

const [dir, n, mode] = [process.argv[2], Number(process.argv[3]), process.argv[4] ?? 'exit'];
const writers = [];
for (let i = 0; i < n; i++) {
  const w = await openFifo(path.join(dir, `f${i}`), 'w', { create: true });
  w.on('error', () => {});
  writers.push(w);
}
if (mode === 'written') writers[0].end('data');
process.stdout.write('pending\n');
if (mode === 'exit') process.exit(0);
