// Starts N pending writer opens (no reader ever comes), then asks to exit: the process must exit
// promptly, which it cannot if an open blocks a libuv threadpool thread.
import { openFifo } from '../../dist/index.js';
import path from 'node:path';

const [dir, n] = [process.argv[2], Number(process.argv[3])];
const writers = [];
for (let i = 0; i < n; i++) {
  const w = await openFifo(path.join(dir, `f${i}`), 'w', { create: true });
  w.on('error', () => {});
  writers.push(w);
}
process.stdout.write('pending\n');
process.exit(0);
