import t, { type Test } from 'tap';
import type { DaemonClient } from '../../src/daemon/index.js';
import { client, daemonRoot, eventually } from '../daemon/helpers.js';
import { taskio } from './taskioCommand.js';

// docker's `top ID [ps OPTIONS]`: the host's ps, its rows those of the task's processes. One
// daemon on a private root for the whole file.
const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

/** A task of `runtime` with two processes, `sleep 1001` and its child `sleep 1000`; their pids in the daemon's own table (host pids but for runsc). */
async function twoSleeps(t: Test, id: string, runtime: 'runc' | 'host' | 'runsc'): Promise<string[]> {
  await c.createTask({ id, runtime, args: ['sh', '-c', 'sleep 1000 & exec sleep 1001'] });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  // The shell forks the child before it execs: wait until both are there.
  let pids: string[] = [];
  await eventually(async () => {
    const { processes } = await c.top(id);
    pids = processes.map((p) => p[0]!).sort();
    // runsc's table names the command alone.
    return processes.length === 2 && processes.every((p) => /^sleep( 100[01])?$/.test(p.at(-1)!));
  }, `the two sleeps of ${id}`);
  return pids;
}

/** The rows of a `taskio top` table, split on runs of spaces, and its header's titles. */
function table(stdout: string): { titles: string[]; rows: string[][] } {
  const [header = '', ...lines] = stdout.split('\n').slice(0, -1);
  return { titles: header.split(/ +/), rows: lines.map((l) => l.split(/ {2,}/)) };
}

for (const runtime of ['host', 'runc'] as const) {
  t.test(`top ${runtime} task with ps options: ps's columns, the task's processes and only those`, { timeout: 120_000 }, async (t) => {
    const id = `top-${runtime}`;
    const pids = await twoSleeps(t, id, runtime);
    // Another task with a sleep: what ps selects beyond the task (-C sleep) is filtered out.
    await twoSleeps(t, `${id}-other`, 'host');
    const [aux, eo, byName, api] = await Promise.all([
      taskio(t, root, 'top', id, 'aux'), taskio(t, root, 'top', id, '-eo', 'pid,comm'), taskio(t, root, 'top', id, '-C', 'sleep', '-o', 'pid,args'),
      c.top(id, { psArgs: '-o  pid,args' }),
    ]);
    for (const r of [aux, eo, byName]) t.same([r.code, r.stderr], [0, ''], 'exit 0, nothing on stderr');

    const a = table(aux.stdout);
    t.same(a.titles, ['USER', 'PID', '%CPU', '%MEM', 'VSZ', 'RSS', 'TTY', 'STAT', 'START', 'TIME', 'COMMAND'], 'aux: ps\'s titles');
    t.same(a.rows.map((r) => r[1]).sort(), pids, 'aux: the task\'s two processes');
    t.same(a.rows.map((r) => r.at(-1)).sort(), ['sleep 1000', 'sleep 1001'], 'aux: the last column holds the whole command');

    const e = table(eo.stdout);
    t.same(e.titles, ['PID', 'COMMAND']);
    t.same(e.rows.map((r) => r[0]).sort(), pids, '-eo pid,comm: every process selected, the task\'s kept');
    t.same(e.rows.map((r) => r[1]), ['sleep', 'sleep']);

    t.same(table(byName.stdout).rows.map((r) => r[0]).sort(), pids, '-C sleep (no quick pid selection with it): the other task\'s sleeps filtered out');

    t.same(api.titles, ['PID', 'COMMAND'], 'the API: ps_args split on whitespace');
    t.same(api.processes.map((p) => p[0]).sort(), pids);
    t.same(api.processes.map((p) => p[1]).sort(), ['sleep 1000', 'sleep 1001'], 'a command\'s spaces stay in its cell');
  });
}

t.test('top with bad ps options: one line, 125, before or from ps', { timeout: 120_000 }, async (t) => {
  const id = 'top-bad';
  await twoSleeps(t, id, 'host');
  const cases: Array<[string[], RegExp, string]> = [
    [['-o', 'comm'], /^taskio top: ps options "-o comm": ps printed no PID column \(titles: COMMAND\)/, 'a format without pid'],
    [['-e', '-o', 'user=PID'], /^taskio top: ps options: specifying "user=PID" is not allowed: only pid may be titled PID/, 'a column renamed PID (moby\'s check)'],
    [['-e', '-o', 'pid,ppid=PID'], /^taskio top: ps options: specifying "ppid=PID" is not allowed/, 'ppid titled PID after pid'],
    [['-ouid=PIDS'], /^taskio top: ps options: specifying "-ouid=PIDS" is not allowed/, 'glued to -o'],
    [['--bogus'], /^taskio top: ps options "--bogus": ps: error: unknown gnu long option\n$/, 'ps\'s own first error line'],
  ];
  const answers = await Promise.all(cases.map(([args]) => taskio(t, root, 'top', id, ...args)));
  for (const [i, [args, want, what]] of cases.entries()) {
    const r = answers[i]!;
    t.same([r.code, r.stdout, r.stderr.split('\n').length], [125, '', 2], `${args.join(' ')}: 125, one line`);
    t.match(r.stderr, want, what);
  }
  const renamed = await Promise.all([c.top(id, { psArgs: '-o pid=PID,comm' }), c.top(id, { psArgs: '' }), c.top(id, { psArgs: ' \t ' })]);
  t.same([renamed[0].titles, renamed[0].processes.length], [['PID', 'COMMAND'], 2], 'pid=PID is allowed');
  t.same(renamed.slice(1).map((b) => b.titles), [['PID', 'PPID', 'COMMAND'], ['PID', 'PPID', 'COMMAND']], 'blank ps_args: the daemon\'s own table');
  await t.rejects(c.top(id, { psArgs: 'ax -o user=PID' }), { code: 'ERR_INVALID_FIELD', status: 400 }, 'the API: the rename refused, 400');
  await t.rejects(c.top(id, { psArgs: '-o comm' }), { code: 'ERR_INVALID_FIELD', status: 400 }, 'the API: no PID column, 400');
});

t.test('top of a runsc task refuses ps options, naming the runtime; without them it lists the sandbox\'s processes', { timeout: 120_000 }, async (t) => {
  const id = 'top-runsc';
  await twoSleeps(t, id, 'runsc');
  const [opts, plain] = await Promise.all([taskio(t, root, 'top', id, 'aux'), taskio(t, root, 'top', id)]);
  t.same([opts.code, opts.stdout], [125, '']);
  t.equal(opts.stderr, `taskio top: ps options need runtime runc or host: task ${id} runs on runsc, whose processes the host's ps cannot see (top ${id} without options lists them)\n`);
  t.same([plain.code, plain.stderr], [0, '']);
  t.match(plain.stdout, /^PID +PPID +COMMAND\n/);
  await t.rejects(c.top(id, { psArgs: '-ef' }), { code: 'ERR_NOT_SUPPORTED', status: 400, message: /runs on runsc/ }, 'the API: 400');
});
