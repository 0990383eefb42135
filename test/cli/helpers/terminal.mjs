// A small command that holds its terminal the way `taskio run -it` does (TerminalSession from the
// built dist/), for the real-pty tests: it reports the raw mode and the window sizes, then leaves by
// the way the test asks for (a key, or a signal the test sends). Output lines are "<word> <rest>".
import { execFileSync } from 'node:child_process';
import { checkTty, openTerminal } from '../../../dist/cli/terminal.js';
import { DetachScanner, parseDetachKeys } from '../../../dist/cli/detachKeys.js';

const say = (line) => process.stdout.write(`${line}\n`);
try {
  checkTty(true, true);
} catch (err) {
  say(`error ${err.code} ${err.message}`);
  process.exit(125);
}

const stty = () => execFileSync('stty', ['-g'], { stdio: ['inherit', 'pipe', 'inherit'] }).toString().trim();
const term = openTerminal({ onResize: (s) => say(`size ${s.cols}x${s.rows}`) });
say(`raw ${stty()}`);
// Registered after the session's own 'exit' hook, so it sees the mode the session left -- before
// Node's own reset of the terminal at exit, which would hide a session that restored nothing.
process.on('exit', () => say(`atexit ${stty()}`));
const scanner = new DetachScanner(parseDetachKeys(''));

function fail() {
  try {
    throw new Error('boom: a thrown error');
  } finally {
    term.restore();
  }
}

process.stdin.on('data', (chunk) => {
  const { data, detached } = scanner.scan(chunk);
  if (detached) {
    term.restore();
    say('detached');
    process.exit(0);
  }
  for (const key of data.toString('latin1')) {
    if (key === 'n') {
      // Normal end: restore, stop reading, let the event loop drain.
      term.restore();
      say('normal');
      process.stdin.destroy();
    } else if (key === 'x') {
      process.exit(3); // no restore call: the 'exit' hook does it
    } else if (key === 't') {
      fail();
    } else if (key === 'u') {
      setImmediate(() => { throw new Error('boom: uncaught'); }); // nobody restores but the hooks
    } else {
      say(`key ${key.charCodeAt(0).toString(16).padStart(2, '0')}`);
    }
  }
});
say(`ready ${process.pid}`);
