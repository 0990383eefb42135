import t from 'tap';
import type { DaemonClient } from '../../src/daemon/index.js';
import { eventLine } from '../../src/cli/events.js';
import { passesEventFilters, parseEventFilter } from '../../src/cli/eventFilter.js';
import { until } from '../helpers/common.js';
import { client, daemonRoot } from '../daemon/helpers.js';
import { startTaskio, taskio } from './taskioCommand.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

t.test('a line as docker\'s events prints one; filters', { timeout: 10_000 }, async (t) => {
  t.equal(eventLine({ type: 'exit', id: 'a', time: '2026-12-03T23:58:08.339Z', exitCode: 3 }), '2026-12-03T23:58:08.339000000Z task exit a (exitCode=3)\n');
  t.equal(eventLine({ type: 'exit', id: 'a', time: '2026-12-03T23:58:08.339Z', exitCode: null }), '2026-12-03T23:58:08.339000000Z task exit a (exitCode=unknown)\n');
  t.equal(eventLine({ type: 'exec-start', id: 'a', time: '2026-12-03T23:58:08.339Z', execId: 'e1' }), '2026-12-03T23:58:08.339000000Z task exec-start a (execID=e1)\n');
  const e = { type: 'start' as const, id: 'a', time: '' };
  const f = (...v: string[]) => v.map(parseEventFilter);
  t.ok(passesEventFilters(e, f('container=b', 'task=a')), 'any value of a key');
  t.notOk(passesEventFilters(e, f('task=a', 'event=exit')), 'every key');
  t.ok(passesEventFilters(e, f('event=exit', 'event=start')));
  t.throws(() => parseEventFilter('event=boom'), { code: 'ERR_INVALID_ARG_VALUE', message: /invalid filter 'event=boom'/ });
  t.throws(() => parseEventFilter('image=x'), { message: "invalid filter 'image' (task, container, event, label)" });
  t.throws(() => parseEventFilter('label==x'), { code: 'ERR_INVALID_ARG_VALUE', message: "invalid filter 'label==x': expected label=KEY or label=KEY=VALUE" });
  // The task's labels are attributes, sorted by name with the others, as docker prints them.
  const labelled = { type: 'exec-exit' as const, id: 'a', time: '2026-12-03T23:58:08.339Z', execId: 'e1', exitCode: 0, labels: { tier: 'web', app: 'x' } };
  t.equal(eventLine(labelled), '2026-12-03T23:58:08.339000000Z task exec-exit a (app=x, execID=e1, exitCode=0, tier=web)\n');
  t.ok(passesEventFilters(labelled, f('label=tier', 'label=app=x')), 'every label filter holds');
  t.notOk(passesEventFilters(labelled, f('label=tier', 'label=app=y')), 'labels must all match');
  t.notOk(passesEventFilters(e, f('label=tier')), 'an event of a task without labels');
  t.ok(passesEventFilters(labelled, f('label=tier=web', 'event=start', 'event=exec-exit')), 'labels and any value of event');
  t.throws(() => parseEventFilter('task='), { message: /expected name=value/ });
});

t.test('events --since replays the kept events, --until ends the stream; filters and formats', { timeout: 60_000 }, async (t) => {
  const since = new Date(Date.now() - 1000).toISOString();
  await c.createTask({ id: 'ev-a', runtime: 'host', args: ['sh', '-c', 'exit 3'] });
  await c.wait('ev-a');
  await c.remove('ev-a');
  // A time, not a duration: docker reads a duration to the whole second (`0s` is the start of this one).
  const now = new Date().toISOString();
  const all = await taskio(t, root, 'events', '--since', since, '--until', now, '-f', 'container=ev-a');
  t.equal(all.code, 0, all.stderr);
  t.match(all.stdout, /^\S+Z task create ev-a\n\S+Z task start ev-a\n\S+Z task exit ev-a \(exitCode=3\)\n\S+Z task delete ev-a\n$/, 'in order, then the end (until: now)');
  const exits = await taskio(t, root, 'events', '--since', since, '--until', now, '-f', 'event=exit', '--format', '{{.id}} {{.exitCode}}');
  t.equal(exits.stdout, 'ev-a 3\n', 'event=exit, a template');
  const json = await taskio(t, root, 'events', '--since', since, '--until', now, '-f', 'task=ev-a', '-f', 'event=delete', '--format', 'json');
  t.match(JSON.parse(json.stdout), { type: 'delete', id: 'ev-a' });
  t.equal((await taskio(t, root, 'events', '--since', since, '--until', now, '-f', 'task=none')).stdout, '', 'another task: nothing');
});

t.test('events -f label=: the events of the tasks with those labels, labels among the attributes', { timeout: 60_000 }, async (t) => {
  const since = new Date(Date.now() - 1000).toISOString();
  await c.createTask({ id: 'ev-web', runtime: 'host', args: ['true'], labels: { tier: 'web' } });
  await c.createTask({ id: 'ev-db', runtime: 'host', args: ['true'], labels: { tier: 'db' } });
  await Promise.all([c.wait('ev-web'), c.wait('ev-db')]);
  await Promise.all([c.remove('ev-web'), c.remove('ev-db')]);
  const r = await taskio(t, root, 'events', '--since', since, '--until', new Date().toISOString(), '-f', 'label=tier=web');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^\S+Z task create ev-web \(tier=web\)\n\S+Z task start ev-web \(tier=web\)\n\S+Z task exit ev-web \(exitCode=0, tier=web\)\n\S+Z task delete ev-web \(tier=web\)\n$/);
  const tmpl = await taskio(t, root, 'events', '--since', since, '--until', new Date().toISOString(), '-f', 'label=tier', '-f', 'event=delete', '--format', '{{.id}} {{.labels.tier}}');
  t.same(tmpl.stdout.split('\n').filter(Boolean).sort(), ['ev-db db', 'ev-web web'], 'label=KEY: both, in a template');
});

t.test('events live: follows until ctrl-C (130); the kept events come first, so none is missed', { timeout: 60_000 }, async (t) => {
  const since = new Date(Date.now() - 1000).toISOString();
  const live = startTaskio(t, root, ['events', '--since', since, '-f', 'task=ev-live']);
  await c.createTask({ id: 'ev-live', runtime: 'host', args: ['true'] });
  await until(() => live.output().includes('task exit ev-live (exitCode=0)\n'), 20_000, 'the exit event');
  live.kill('SIGINT');
  const r = await live.result;
  t.equal(r.code, 130);
  t.match(r.stdout, /task create ev-live\n.*task start ev-live\n.*task exit ev-live/s);
  await c.remove('ev-live');
  const ends = await taskio(t, root, 'events', '--until', new Date(Date.now() + 1000).toISOString());
  t.same([ends.code, ends.stderr], [0, ''], 'a live stream ends by itself once the clock passes --until');
});

t.test('bad input: one line, 125', { timeout: 30_000 }, async (t) => {
  const bad = await taskio(t, root, 'events', '--since', 'yesterday');
  t.same([bad.code, bad.stderr], [125, 'taskio events: invalid argument "yesterday" for "--since" flag: failed to parse value as time or duration: "yesterday". See \'taskio events --help\'.\n']);
  const op = await taskio(t, root, 'events', 'x');
  t.equal(op.code, 125);
});
