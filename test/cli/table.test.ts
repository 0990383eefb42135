import t from 'tap';
import { displayWidth, ellipsis, formatTable } from '../../src/cli/table.js';
import { createdText, statusText } from '../../src/cli/status.js';
import { LiveTable, clearScreen } from '../../src/cli/liveTable.js';

t.test('formatTable lays columns out as docker ps: at least 10 wide, 3 spaces after the widest, last column unpadded', async (t) => {
  // docker's own header line, from `docker ps` with no containers.
  t.equal(formatTable(['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'], []),
    'CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n');
  const out = formatTable(['ID', 'RUNTIME', 'COMMAND', 'CREATED', 'STATUS', 'PID'], [
    ['web', 'runsc', '"sh -c \'while true…"', '5 minutes ago', 'Up 5 minutes', '4242'],
    ['batch-job-1', 'host', '"true"', '2 hours ago', 'Exited (0) 2 hours ago', '-'],
  ]);
  t.equal(out, [
    'ID            RUNTIME   COMMAND                CREATED         STATUS                   PID',
    'web           runsc     "sh -c \'while true…"   5 minutes ago   Up 5 minutes             4242',
    'batch-job-1   host      "true"                 2 hours ago     Exited (0) 2 hours ago   -',
    '',
  ].join('\n'));
  t.equal(formatTable(['A'], [['x'], ['yy']]), 'A\nx\nyy\n', 'one column: nothing to pad');
});

t.test('display width counts wide characters twice and combining marks not at all', async (t) => {
  t.equal(displayWidth('abc'), 3);
  t.equal(displayWidth('日本'), 4);
  t.equal(displayWidth('e\u0301'), 1);
  t.equal(displayWidth('😀'), 2);
  t.equal(formatTable(['名前', 'X'], [['ab', 'y']]), '名前      X\nab        y\n', 'a wide cell is padded by its width');
});

t.test('ellipsis cuts to a width with …, as docker\'s Ellipsis', async (t) => {
  t.equal(ellipsis('short', 20), 'short');
  t.equal(ellipsis('sh -c while true; do echo hi; done', 20), 'sh -c while true; d…');
  t.equal(displayWidth(ellipsis('sh -c while true; do echo hi; done', 20)), 20);
  t.equal(ellipsis('日本語のコマンド', 7), '日本語…');
  t.equal(ellipsis('abc', 1), 'a');
  t.equal(ellipsis('abc', 0), '');
});

t.test('STATUS and CREATED as docker ps writes them', async (t) => {
  const now = new Date('2024-05-01T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
  t.equal(statusText({ state: 'created' }, now), 'Created');
  t.equal(statusText({ state: 'running', startedAt: ago(300) }, now), 'Up Less than a second');
  t.equal(statusText({ state: 'running', startedAt: ago(3 * 60_000) }, now), 'Up 3 minutes');
  t.equal(statusText({ state: 'running', startedAt: new Date(now.getTime() - 3_600_000) }, now), 'Up About an hour');
  t.equal(statusText({ state: 'paused', startedAt: ago(10_000) }, now), 'Up 10 seconds (Paused)');
  t.equal(statusText({ state: 'exited', startedAt: ago(60_000), exitedAt: ago(2_000), exitCode: 3 }, now), 'Exited (3) 2 seconds ago');
  t.equal(statusText({ state: 'stopped', startedAt: ago(60_000), exitedAt: ago(90_000_000), exitCode: 137 }, now), 'Exited (137) 25 hours ago');
  t.equal(statusText({ state: 'exited', startedAt: ago(60_000), exitedAt: null, exitCode: null }, now), 'Exited (unknown)', 'an exit nobody saw');
  t.equal(statusText({ state: 'exited', exitCode: 1 }, now), 'Created', 'never started: docker says Created');
  t.equal(statusText({ state: 'removing' }, now), 'Removing');
  t.equal(createdText(ago(5 * 60_000), now), '5 minutes ago');
  t.equal(createdText('not a date', now), '');
});

t.test('a live table redraws in place only on a terminal', async (t) => {
  const writes: string[] = [];
  const tty = new LiveTable({ isTTY: true, write: (s: string) => writes.push(s) });
  tty.draw('A\n1\n');
  tty.draw('A\n2\n');
  t.same(writes, [`${clearScreen}A\n1\n`, `${clearScreen}A\n2\n`], 'clear, home, frame — one write each');
  t.equal(clearScreen, '\x1b[2J\x1b[H');
  const piped: string[] = [];
  const pipe = new LiveTable({ write: (s: string) => piped.push(s) });
  pipe.draw('A\n1\n');
  pipe.draw('A\n2\n');
  t.same(piped, ['A\n1\n', 'A\n2\n'], 'no escape codes in a pipe or file');
});

t.test('a live table on a real terminal clears and homes; through a pipe it does not', { timeout: 60_000 }, async (t) => {
  const { spawn } = await import('node-pty');
  const { spawnSync } = await import('node:child_process');
  const { repoRoot } = await import('../helpers/common.js');
  const script = `import { LiveTable } from ${JSON.stringify(`${repoRoot}/dist/cli/liveTable.js`)};
    const live = new LiveTable(process.stdout); live.draw('A\\n1\\n'); live.draw('A\\n2\\n');`;
  const args = ['--input-type=module', '-e', script];
  const term = spawn(process.execPath, args, { cols: 80, rows: 24 });
  let out = '';
  term.onData((d) => { out += d; });
  await new Promise<void>((resolve) => term.onExit(() => resolve()));
  t.equal(out, `${clearScreen}A\r\n1\r\n${clearScreen}A\r\n2\r\n`, 'two frames, each after clear + home');
  const piped = spawnSync(process.execPath, args, { encoding: 'utf8' });
  t.equal(piped.stdout, 'A\n1\nA\n2\n');
});
