// A separate client process: attaches to a FIFO set (paths from argv), reports "attached" or the
// error code on stdout, then holds the attachment until killed. Uses the built dist/.
import { newAttach, newFIFOSet, withStreams } from '../../dist/index.js';
import { Writable } from 'node:stream';

const [stdin, stdout, stderr] = process.argv.slice(2);
const sink = new Writable({ write(_c, _e, cb) { cb(); } });
try {
  await newAttach(withStreams(null, sink, sink))(newFIFOSet({ terminal: false, stdin: stdin ?? '', stdout: stdout ?? '', stderr: stderr ?? '' }));
  process.stdout.write('attached\n');
  setInterval(() => {}, 1 << 30);
} catch (err) {
  process.stdout.write(`${err.code}\n`);
}
