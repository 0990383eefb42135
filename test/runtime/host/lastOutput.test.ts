/**
 * A host terminal keeps the last output of its process: node-pty gives a pty whose process exited
 * 200 ms to reach EOF, then destroys its socket, and what was still unread there was lost.
 */
import t from 'tap';
import { keepLastOutput } from '../../../src/runtime/host/terminal.js';
import { spawn } from '../../../src/runtime/host/pty.js';

/** `sh -c script` on a pty, paused at once (as a terminal whose reader holds back, or an event loop held up, leaves it). */
async function pausedRun(script: string, keep: boolean): Promise<{ code: number; text: string }> {
  const pty = spawn('sh', ['-c', script], { cols: 80, rows: 24, encoding: null as unknown as string });
  let text = '';
  const take = (d: string | Buffer): void => { text += String(d); };
  pty.onData(take);
  if (keep) keepLastOutput(pty, take);
  pty.pause();
  const code = await new Promise<number>((resolve) => pty.onExit((e) => resolve(e.exitCode)));
  return { code, text };
}

t.test('node-pty alone: paused as the process writes and exits, the output is gone (why keepLastOutput exists)', { timeout: 30_000 }, async (t) => {
  const r = await pausedRun('printf hello; exit 3', false);
  t.equal(r.code, 3);
  t.equal(r.text, '', 'node-pty destroyed its socket with "hello" unread');
});

t.test('keepLastOutput: the same, and the output is all there before the exit is reported', { timeout: 30_000 }, async (t) => {
  const r = await pausedRun('printf hello; exit 3', true);
  t.equal(r.code, 3);
  t.equal(r.text, 'hello');
  const big = await pausedRun('head -c 3000 /dev/zero | tr "\\\\0" x; exit 0', true);
  t.equal(big.text, 'x'.repeat(3000));
});
