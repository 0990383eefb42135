import t from 'tap';
import * as pty from 'node-pty';
import type { DaemonClient } from '../../src/daemon/index.js';
import { clearScreen } from '../../src/cli/liveTable.js';
import { tmpDir, until } from '../helpers/common.js';
import { cliMain, client, daemonRoot, eventually, logText } from '../daemon/helpers.js';
import { startTaskio, taskio, taskioEnv } from './taskioCommand.js';

// One daemon on a private root for the whole file; host tasks (fast), each with its own id.
const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

/** The cells of a table line, by the columns of its header (docker's left-aligned layout). */
function columns(header: string, line: string): string[] {
  const starts = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => m.index);
  return starts.map((s, i) => line.slice(s, starts[i + 1]).trim());
}

t.test('ps: the running tasks newest first, -a adds exited ones, -q, --no-trunc, --format json', { timeout: 120_000 }, async (t) => {
  const run = await c.createTask({ id: 'ps-run', runtime: 'host', args: ['sh', '-c', 'exec sleep 1000'] });
  await c.createTask({ id: 'ps-exit', runtime: 'host', args: ['sh', '-c', 'exit 3'] });
  await c.wait('ps-exit');
  t.teardown(() => Promise.all(['ps-run', 'ps-exit'].map((id) => c.remove(id, { force: true }).catch(() => undefined))));
  const [ps, psA, q, qa, noTrunc, json] = await Promise.all([
    taskio(t, root, 'ps'), taskio(t, root, 'ps', '-a'), taskio(t, root, 'ps', '-q'), taskio(t, root, 'ps', '-aq'),
    taskio(t, root, 'ps', '--no-trunc'), taskio(t, root, 'ps', '--format', 'json'),
  ]);
  for (const r of [ps, psA, q, qa, noTrunc, json]) {
    t.equal(r.code, 0);
    t.equal(r.stderr, '');
  }
  const [header, ...rows] = ps.stdout.split('\n').slice(0, -1);
  t.match(header, /^ID {8}RUNTIME {3}COMMAND {18}CREATED +STATUS +PID$/, 'docker\'s header, aligned');
  t.equal(rows.length, 1, 'only the running task');
  const [id, runtime, command, created, status, pid] = columns(header!, rows[0]!);
  t.equal(id, 'ps-run');
  t.equal(runtime, 'host');
  t.equal(command, '"sh -c exec sleep 10…"', 'the command quoted and cut at 20 columns');
  t.match(created, /^(Less than a second|\d+ seconds?) ago$/);
  t.match(status, /^Up (Less than a second|\d+ seconds?)$/);
  t.equal(pid, String(run.pid));

  const [headerA, ...rowsA] = psA.stdout.split('\n').slice(0, -1);
  t.same(rowsA.map((l) => columns(headerA!, l)[0]), ['ps-exit', 'ps-run'], '-a: exited ones too, newest first');
  const exited = columns(headerA!, rowsA[0]!);
  t.match(exited[4], /^Exited \(3\) (Less than a second|\d+ seconds?) ago$/);
  t.equal(exited[5], '', 'no pid for an exited task');
  t.equal(q.stdout, 'ps-run\n');
  t.equal(qa.stdout, 'ps-exit\nps-run\n');
  t.match(noTrunc.stdout, '"sh -c exec sleep 1000"', '--no-trunc: the whole command');
  const views = json.stdout.split('\n').slice(0, -1).map((l) => JSON.parse(l) as { id: string; status: string; pid: number; args: string[] });
  t.same(views.map((v) => [v.id, v.status, v.pid]), [['ps-run', 'running', run.pid]], 'one JSON object a line');
  t.same(views[0]!.args, ['sh', '-c', 'exec sleep 1000']);
});

t.test('ps --filter: docker\'s keys (same key: any value; different keys: all), status/exited look at stopped tasks; bad filters are 125', { timeout: 120_000 }, async (t) => {
  const ids = ['flt-run', 'flt-three', 'flt-zero'];
  await c.createTask({ id: 'flt-run', runtime: 'host', args: ['sh', '-c', 'exec sleep 1000'] });
  await c.createTask({ id: 'flt-three', runtime: 'host', args: ['sh', '-c', 'exit 3'] });
  await c.createTask({ id: 'flt-zero', runtime: 'host', args: ['true'] });
  await Promise.all([c.wait('flt-three'), c.wait('flt-zero')]);
  t.teardown(() => Promise.all(ids.map((id) => c.remove(id, { force: true }).catch(() => undefined))));
  const cases: Array<[string[], string[], string]> = [
    [['-f', 'status=exited'], ['flt-zero', 'flt-three'], 'status=exited shows stopped tasks without -a'],
    [['-f', 'status=running', '-f', 'status=exited'], ids.slice().reverse(), 'two values of a key: either'],
    [['-f', 'exited=3'], ['flt-three'], 'an exit code'],
    [['-f', 'exited=3', '-f', 'name=zero'], [], 'two keys: both'],
    [['-a', '-f', 'name=^flt-(run|zero)$'], ['flt-zero', 'flt-run'], 'name is a regular expression'],
    [['-a', '-f', 'name=^/flt-zero$'], ['flt-zero'], 'name also matches docker\'s leading slash: ^/NAME$, the scripts\' exact match'],
    [['-a', '-f', 'name=/flt-t'], ['flt-three'], 'a leading slash, unanchored'],
    [['-a', '-f', 'id=^/flt-zero$'], [], 'id has no slash, as docker\'s'],
    [['-f', 'id=flt'], ['flt-run'], 'without -a, running tasks only'],
    [['-a', '-f', 'runtime=host', '-f', 'id=three'], ['flt-three'], 'runtime (taskio\'s own key)'],
    [['-a', '-f', 'runtime=runc', '-f', 'id=flt'], [], 'no runc task here'],
    [['-f', 'status=dead'], [], 'a docker state taskio never has: nothing, not an error'],
  ];
  const answers = await Promise.all(cases.map(([args]) => taskio(t, root, 'ps', '-q', ...args)));
  for (const [i, [args, want, what]] of cases.entries()) {
    const got = answers[i]!.stdout.split('\n').filter((l) => l.startsWith('flt-'));
    t.same([answers[i]!.code, got], [0, want], `${args.join(' ')}: ${what}`);
  }
  const bad: Array<[string, string]> = [
    ['bogus=1', "invalid filter 'bogus' (id, name, label, status, exited, health, runtime)"],
    ['status=zombie', "invalid filter 'status=zombie': expected one of created, running, paused, exited, restarting, removing, dead"],
    ['exited=x', "invalid filter 'exited=x': expected an exit code, 0 to 255"],
    ['name=(', "invalid filter 'name=(': not a regular expression (Invalid regular expression: /(/: Unterminated group)"],
    ['noequals', 'bad format of filter (expected name=value)'],
  ];
  const refusals = await Promise.all(bad.map(([f]) => taskio(t, root, 'ps', '-f', f)));
  for (const [i, [f, why]] of bad.entries()) {
    t.same([refusals[i]!.code, refusals[i]!.stdout, refusals[i]!.stderr], [125, '', `taskio ps: invalid argument "${f}" for "-f, --filter" flag: ${why}. See 'taskio ps --help'.\n`], f);
  }
});

t.test('ps -n N and -l: the last created tasks in any state, counted after the filters; -l is -n 1 unless -n is given', { timeout: 120_000 }, async (t) => {
  const ids = ['last-old', 'last-run', 'last-new'];
  t.teardown(() => Promise.all(ids.map((id) => c.remove(id, { force: true }).catch(() => undefined))));
  await c.createTask({ id: 'last-old', runtime: 'host', args: ['true'] });
  await c.wait('last-old');
  await c.createTask({ id: 'last-run', runtime: 'host', args: ['sh', '-c', 'exec sleep 1000'] });
  await c.createTask({ id: 'last-new', runtime: 'host', args: ['sh', '-c', 'exit 3'] });
  await c.wait('last-new');
  const cases: Array<[string[], string[], string]> = [
    [['-l'], ['last-new'], '-l: the newest, exited, without -a'],
    [['--latest', '-f', 'name=^last-(old|run)$'], ['last-run'], '--latest of what the filter keeps'],
    [['-n', '2', '-f', 'name=^last-'], ['last-new', 'last-run'], '-n 2: the two newest, any state'],
    [['--last=5', '-f', 'name=^last-'], ['last-new', 'last-run', 'last-old'], 'more than there are: all of them'],
    [['-l', '-n', '2', '-f', 'name=^last-'], ['last-new', 'last-run'], '-n wins over -l'],
    [['-n', '0', '-f', 'name=^last-'], ['last-run'], '-n 0: no limit, running tasks only'],
  ];
  const answers = await Promise.all(cases.map(([args]) => taskio(t, root, 'ps', '-q', ...args)));
  for (const [i, [args, want, what]] of cases.entries()) {
    t.same([answers[i]!.code, answers[i]!.stderr, answers[i]!.stdout], [0, '', want.map((id) => `${id}\n`).join('')], `${args.join(' ')}: ${what}`);
  }
  const table = await taskio(t, root, 'ps', '-l');
  t.match(table.stdout, /^ID .*\nlast-new .*Exited \(3\)/, 'the table has the one row');
  const bad = await taskio(t, root, 'ps', '-n', 'x');
  t.same([bad.code, bad.stdout, bad.stderr], [125, '', 'taskio ps: invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax. See \'taskio ps --help\'.\n']);
});

t.test('top: the processes of the task (ps options: top.test.ts); an unknown task is 125', { timeout: 120_000 }, async (t) => {
  const id = 'top-host';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'sleep 1000 & exec sleep 1001'] });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  const [top, unknown] = await Promise.all([taskio(t, root, 'top', id), taskio(t, root, 'top', 'nope')]);
  t.equal(top.code, 0);
  const [header, ...rows] = top.stdout.split('\n').slice(0, -1);
  t.match(header, /^PID +PPID +COMMAND$/);
  t.same(rows.map((l) => columns(header!, l)[2]).sort(), ['sleep 1000', 'sleep 1001']);
  const pids = rows.map((l) => columns(header!, l)[0]);
  t.ok(pids.includes(String((await c.getTask(id)).pid)), 'the init is one of them');
  t.equal(unknown.code, 125);
  t.equal(unknown.stderr, 'taskio top: no such task: nope\n');
});

t.test('stats --no-stream: one table of CPU %, memory, pids; --format json; an unknown task is 125', { timeout: 120_000 }, async (t) => {
  const id = 'stats-host';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'sleep 1000 & exec sleep 1001'], limits: { memory: 64 * 1024 * 1024 } });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  const [table, json, unknown, tpl, tplTable, badTpl] = await Promise.all([
    taskio(t, root, 'stats', '--no-stream', id), taskio(t, root, 'stats', '--no-stream', '--format', 'json', id), taskio(t, root, 'stats', '--no-stream', id, 'nope'),
    taskio(t, root, 'stats', '--no-stream', '--format', '{{.Name}}:{{.PIDs}}:{{.MemUsage}}', id),
    taskio(t, root, 'stats', '--no-stream', '--format', 'table {{.ID}}\\t{{.PIDs}}', id),
    taskio(t, root, 'stats', '--no-stream', '--format', '{{.NetIO}}', id),
  ]);
  t.same([tpl.code, tpl.stderr], [0, '']);
  t.match(tpl.stdout, new RegExp(`^${id}:2:[\\d.]+(B|KiB|MiB) / 64MiB\\n$`), 'a template: docker\'s field names');
  t.equal(tplTable.stdout, `ID           PIDS\n${id}   2\n`, 'table TEMPLATE: its header, aligned');
  t.same([badTpl.code, badTpl.stdout], [125, '']);
  t.match(badTpl.stderr, /^taskio stats: invalid argument "\{\{\.NetIO\}\}" for "--format" flag: .*map has no entry for key "NetIO" \(the fields are \.ID \.Name \.CPUPerc \.MemUsage \.MemPerc \.PIDs\)/);
  t.equal(table.code, 0);
  t.equal(table.stderr, '');
  const [header, ...rows] = table.stdout.split('\n').slice(0, -1);
  t.match(header, /^ID +CPU % +MEM USAGE \/ LIMIT +MEM % +PIDS$/);
  t.equal(rows.length, 1);
  const [rid, cpu, mem, memPct, pids] = columns(header!, rows[0]!);
  t.equal(rid, id);
  t.match(cpu, /^\d+\.\d\d%$/);
  t.match(mem, /^[\d.]+(B|KiB|MiB) \/ 64MiB$/, 'usage against the task\'s own limit');
  t.match(memPct, /^\d+\.\d\d%$/);
  t.equal(pids, '2');
  const sample = JSON.parse(json.stdout) as { id: string; pids: { current: number }; cpuPercent: number };
  t.equal(sample.id, id);
  t.equal(sample.pids.current, 2);
  t.type(sample.cpuPercent, 'number');
  t.equal(unknown.code, 125);
  t.equal(unknown.stdout, '', 'nothing printed when a task named is unknown');
  t.equal(unknown.stderr, 'taskio stats: no such task: nope\n');
});

t.test('stats: memory in use without the page cache the kernel reclaims first (inactive files), as docker counts it', { timeout: 120_000 }, async (t) => {
  const dir = tmpDir(t);
  // 64 MiB written through the page cache and synced: charged to the task's cgroup, inactive, clean.
  const write = (to: string): string => `dd if=/dev/zero of=${to} bs=1M count=64 2>/dev/null && sync && echo ready && exec sleep 1000`;
  const run = await taskio(t, root, 'run', '-d', '--name', 'cache-runc', '--runtime', 'runc', '-v', `${dir}:/mnt`, 'sh', '-c', write('/mnt/runc'));
  t.teardown(() => c.remove('cache-runc', { force: true }).catch(() => undefined));
  t.equal(run.code, 0, run.stderr);
  await c.createTask({ id: 'cache-host', runtime: 'host', args: ['sh', '-c', write(`${dir}/host`)] });
  t.teardown(() => c.remove('cache-host', { force: true }).catch(() => undefined));
  for (const id of ['cache-runc', 'cache-host']) {
    await eventually(async () => (await logText(c, id)).includes('ready'), `${id}: its file written`, 60_000);
    const [json, table] = await Promise.all([
      taskio(t, root, 'stats', '--no-stream', '--format', 'json', id), taskio(t, root, 'stats', '--no-stream', '--format', '{{.MemUsage}}', id),
    ]);
    const sample = JSON.parse(json.stdout) as { memory: { usage: number; inactiveFile: number } };
    t.ok(sample.memory.usage >= 64 * 1024 * 1024, `${id}: the cgroup's charge holds the file's pages (${sample.memory.usage})`);
    t.ok(sample.memory.inactiveFile >= 60 * 1024 * 1024, `${id}: most of them inactive (${sample.memory.inactiveFile})`);
    t.match(table.stdout, /^[\d.]+(B|KiB|MiB) \/ [\d.]+GiB\n$/);
    const [, n, unit] = /^([\d.]+)(B|KiB|MiB)/.exec(table.stdout)!;
    t.ok(unit !== 'MiB' || Number(n) < 32, `${id}: MEM USAGE leaves the cache out (${table.stdout.trim()})`);
  }
});

t.test('stats in a terminal: a live table that redraws in place until ctrl-C', { timeout: 120_000 }, async (t) => {
  const id = 'stats-live';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'exec sleep 1000'] });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  const term = pty.spawn(cliMain, ['stats', id], { cols: 100, rows: 20, env: taskioEnv(root) as Record<string, string> });
  let out = '';
  term.onData((d) => { out += d; });
  const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  t.teardown(() => { try { term.kill('SIGKILL'); } catch { /* gone */ } });
  const frames = (): string[] => out.split(clearScreen).slice(1);
  // A frame with a CPU % needs two samples: that is a redraw after the first frames.
  await until(() => frames().some((f) => new RegExp(`\\n${id} +\\d+\\.\\d\\d% `).test(f.replace(/\r/g, ''))), 30_000, 'a frame with a CPU %');
  t.ok(frames().length >= 2, 'the table was drawn again, each time from the top-left');
  for (const f of frames()) t.match(f.replace(/\r/g, ''), /^ID +CPU % +MEM USAGE \/ LIMIT +MEM % +PIDS\n/, 'every frame starts with the header');
  term.write('\x03');
  t.equal(await exited, 130, 'ctrl-C ends it with 130');
});

t.test('stats of tasks named, on a pipe: plain frames, and it ends once they have exited', { timeout: 120_000 }, async (t) => {
  const id = 'stats-end';
  await c.createTask({ id, runtime: 'host', args: ['sh', '-c', 'exec sleep 1000'] });
  t.teardown(() => c.remove(id, { force: true }).catch(() => undefined));
  const stats = startTaskio(t, root, ['stats', id]);
  await until(() => new RegExp(`\\n${id} +\\d+\\.\\d\\d% `).test(stats.output()), 30_000, 'a sample');
  await c.kill(id);
  const r = await stats.result;
  t.equal(r.code, 0);
  t.equal(r.stderr, '');
  t.notMatch(r.stdout, '\x1b', 'no escape codes on a pipe');
  const frames = r.stdout.split(/(?=^ID )/m);
  t.ok(frames.length >= 2, 'frame after frame');
  t.match(frames.at(-1), new RegExp(`\\n${id} +0\\.00% +0B / 0B +0\\.00% +0\\n$`), 'the last frame shows the exited task at zero');
});

t.test('ps --format: a Go template per task, `table TEMPLATE` under docker-style headers, checked before listing; -q wins with docker\'s warning', { timeout: 120_000 }, async (t) => {
  const run = await c.createTask({ id: 'pf-run', runtime: 'host', args: ['sh', '-c', 'exec sleep 1000'] });
  await c.createTask({ id: 'pf-exit', runtime: 'host', args: ['sh', '-c', 'exit 3'] });
  await c.wait('pf-exit');
  t.teardown(() => Promise.all(['pf-run', 'pf-exit'].map((id) => c.remove(id, { force: true }).catch(() => undefined))));
  const ps = (...args: string[]) => taskio(t, root, 'ps', '-a', '-f', 'name=^pf-', ...args);
  const [lines, table, noTrunc, times, json, quiet, bad, badField] = await Promise.all([
    ps('--format', '{{.ID}}\\t{{.State}}\\t{{.Pid}}|{{.Names}} {{.Image}} {{.Runtime}}'),
    ps('--format', 'table {{.Names}}\\t{{.Command}}\\t{{.Status}}\\t{{.Pid}}'),
    ps('--no-trunc', '--format', '{{.Command}}'),
    ps('--format', '{{.CreatedAt}}|{{.RunningFor}}|{{.Status}}'),
    ps('--format', '{{json .}}'),
    ps('-q', '--format', '{{.Pid}}'),
    ps('--format', 'table {{.ID'),
    ps('--format', '{{.Foo}}'),
  ]);
  for (const r of [lines, table, noTrunc, times, json]) t.same([r.code, r.stderr], [0, '']);
  t.equal(lines.stdout, `pf-exit\texited\t|pf-exit host host\npf-run\trunning\t${run.pid}|pf-run host host\n`, 'one line a task, newest first, a typed \\t a tab, no header');

  const [header, ...rows] = table.stdout.split('\n').slice(0, -1);
  t.match(header, /^NAMES {5}COMMAND {18}STATUS +PID$/, 'the column names, aligned as the default table');
  const cells = rows.map((l) => columns(header!, l));
  t.same(cells.map(([name, command, , pid]) => [name, command, pid]), [['pf-exit', '"sh -c exit 3"', ''], ['pf-run', '"sh -c exec sleep 10…"', String(run.pid)]]);
  t.match(cells.map((c) => c[2]), [/^Exited \(3\) (Less than a second|\d+ seconds?) ago$/, /^Up (Less than a second|\d+ seconds?)$/]);
  t.equal(noTrunc.stdout, '"sh -c exit 3"\n"sh -c exec sleep 1000"\n', '--no-trunc: the whole command, quoted');
  for (const line of times.stdout.split('\n').slice(0, -1)) {
    t.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \S+\|(Less than a second|\d+ seconds?) ago\|(Up|Exited \(3\)) /, 'docker\'s CreatedAt, RunningFor and Status');
  }
  const objects = json.stdout.split('\n').slice(0, -1).map((l) => JSON.parse(l) as Record<string, string>);
  t.same(objects.map((o) => Object.keys(o)), Array(2).fill(['ID', 'Names', 'Image', 'Runtime', 'Command', 'CreatedAt', 'RunningFor', 'Status', 'State', 'Pid', 'Labels']), '{{json .}}: every field');
  t.same(objects.map((o) => [o['ID'], o['State'], o['Pid']]), [['pf-exit', 'exited', ''], ['pf-run', 'running', String(run.pid)]]);
  t.same([quiet.code, quiet.stdout, quiet.stderr], [0, 'pf-exit\npf-run\n', 'WARNING: Ignoring custom format, because both --format and --quiet are set.\n']);
  t.same([bad.code, bad.stdout, bad.stderr], [125, '', 'taskio ps: invalid argument "table {{.ID" for "--format" flag: template "{{.ID": 1:1: unclosed action. See \'taskio ps --help\'.\n']);
  t.same([badField.code, badField.stdout], [125, '']);
  t.equal(badField.stderr, 'taskio ps: invalid argument "{{.Foo}}" for "--format" flag: template "{{.Foo}}": 1:3: at <.Foo>: map has no entry for key "Foo" '
    + '(the fields are .ID .Names .Image .Runtime .Command .CreatedAt .RunningFor .Status .State .Pid .Labels .Label "…"). See \'taskio ps --help\'.\n');
});

t.test('run -l and ps --filter label: a key, a key and value; several label filters must all hold; .Labels in a template', { timeout: 120_000 }, async (t) => {
  // One after the other: ps lists the newest first.
  const made = [
    await taskio(t, root, 'run', '-d', '--name', 'lab-a', '--runtime', 'host', '-l', 'job=7', '-l', 'team=ci', '--', 'sleep', '1000'),
    await taskio(t, root, 'run', '-d', '--name', 'lab-b', '--runtime', 'host', '--label', 'job=8', '-l', 'flag', '--', 'sleep', '1000'),
  ];
  t.teardown(() => Promise.all(['lab-a', 'lab-b'].map((id) => c.remove(id, { force: true }).catch(() => undefined))));
  t.same(made.map((r) => r.code), [0, 0], made.map((r) => r.stderr).join(''));
  t.same((await c.getTask('lab-b')).labels, { job: '8', flag: '' }, 'a label without a value has an empty one');
  const ids = async (...filters: string[]): Promise<string> => (await taskio(t, root, 'ps', '-q', ...filters.flatMap((f) => ['-f', f]))).stdout;
  t.equal(await ids('label=job'), 'lab-b\nlab-a\n', 'a key');
  t.equal(await ids('label=job=7'), 'lab-a\n', 'a key and value');
  t.equal(await ids('label=job', 'label=flag'), 'lab-b\n', 'both labels');
  t.equal(await ids('label=job=7', 'label=flag'), '', 'no task has both');
  t.equal(await ids('label=flag=', 'name=lab'), 'lab-b\n', 'an empty value, and another key');
  t.equal((await taskio(t, root, 'ps', '-f', 'label=job=7', '--format', '{{.ID}} {{.Labels}}')).stdout, 'lab-a job=7,team=ci\n', 'docker\'s .Labels: sorted, comma-joined');
  const label = await taskio(t, root, 'ps', '-f', 'name=lab', '--format', '{{.ID}} job={{.Label "job"}} flag=[{{"flag" | .Label}}] team=[{{.Label "team"}}]');
  t.same([label.code, label.stdout, label.stderr], [0, 'lab-b job=8 flag=[] team=[]\nlab-a job=7 flag=[] team=[ci]\n', ''], 'docker\'s .Label "KEY": one label\'s value, empty when the task has none');
  const table = await taskio(t, root, 'ps', '-f', 'name=lab-a', '--format', 'table {{.ID}}\t{{.Label "team"}}');
  t.equal(table.stdout.split('\n')[1]!.trim().replace(/ +/g, ' '), 'lab-a ci', 'in a table');
  const noKey = await taskio(t, root, 'ps', '--format', '{{.Label}}');
  t.same([noKey.code, noKey.stdout], [125, '']);
  t.match(noKey.stderr, /^taskio ps: invalid argument "\{\{\.Label\}\}" for "--format" flag: template "\{\{\.Label\}\}": 1:3: at <\.Label>: wrong number of args for Label: want 1 got 0 \(the fields are [^\n]*\)\. See 'taskio ps --help'\.\n$/, 'checked before anything is listed');
  const bad = await taskio(t, root, 'ps', '-f', 'label==x');
  t.same([bad.code, bad.stderr], [125, 'taskio ps: invalid argument "label==x" for "-f, --filter" flag: invalid filter \'label==x\': expected label=KEY or label=KEY=VALUE. See \'taskio ps --help\'.\n']);
});
