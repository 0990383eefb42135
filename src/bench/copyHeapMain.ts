/**
 * One point of the copy-heap benchmark (see {@link copyAtHeapHere}): `node --expose-gc
 * copyHeapMain.js <liveMb> <sink> <producer args…>` prints one JSON line.
 */
import { copyAtHeapHere } from './copyHeap.js';
import type { SinkKind } from './cio.js';
import { useSpawner } from './measure.js';

// The producer is started by a spawner: a fork of this process would make every page of its heap
// fault once more afterwards (copy-on-write), which is not the copy's cost (see Spawner).
useSpawner();

const [liveMb, sink, ...load] = process.argv.slice(2);
copyAtHeapHere(Number(liveMb), sink as SinkKind, load).then((r) => {
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}, (err: unknown) => {
  console.error(err);
  process.exit(1);
});
