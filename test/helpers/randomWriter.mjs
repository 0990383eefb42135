// A separate producer process: writes `bytes` random bytes into the FIFO at argv[2] in writes of
// random sizes (1 B to 1 MiB, sizes from a seeded generator so a failure can be replayed), then
// prints the sha256 of everything it wrote. It is its own process, so its blocking open of the
// FIFO holds none of the test process's threads.
import fs from 'node:fs';
import { createHash, randomFillSync } from 'node:crypto';

const [path, bytesArg, seedArg] = process.argv.slice(2);
let left = Number(bytesArg);
let seed = Number(seedArg) >>> 0 || 1;
const nextSize = () => {
  // xorshift32; mostly small writes, some large ones, so reads end at every kind of boundary.
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  const max = [64, 4096, 65536, 1 << 20][seed & 3];
  return 1 + (seed >>> 2) % max;
};
const fd = fs.openSync(path, 'w');
const hash = createHash('sha256');
const buf = Buffer.allocUnsafe(1 << 20);
while (left > 0) {
  const n = Math.min(nextSize(), left);
  const chunk = randomFillSync(buf, 0, n).subarray(0, n);
  hash.update(chunk);
  for (let off = 0; off < n;) off += fs.writeSync(fd, chunk, off, n - off);
  left -= n;
}
fs.closeSync(fd);
process.stdout.write(`${hash.digest('hex')}\n`);
