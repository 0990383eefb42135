import t from 'tap';
import { Writable } from 'node:stream';
import type { DaemonClient } from '../../src/daemon/index.js';
import { allCapabilities, applyCapabilityChanges, capabilityName, defaultCapabilities, ownCapabilities, processCapabilities } from '../../src/daemon/capabilities.js';
import { client, daemonRoot, runToEnd, taskDirs } from './helpers.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

t.test('names, docker\'s --cap-add/--cap-drop rules, the daemon\'s own set', { timeout: 10_000 }, async (t) => {
  t.equal(capabilityName('chown'), 'CAP_CHOWN');
  t.equal(capabilityName('Cap_Net_Admin'), 'CAP_NET_ADMIN');
  t.equal(capabilityName('all'), 'ALL');
  t.throws(() => capabilityName('CAP_FLY'), { code: 'ERR_INVALID_FIELD', message: 'unknown capability: "CAP_FLY"' });
  const own = allCapabilities.filter((c) => c !== 'CAP_SYS_RESOURCE');
  t.same(applyCapabilityChanges(defaultCapabilities, [], [], own), defaultCapabilities, 'no change');
  t.same(applyCapabilityChanges(['CAP_CHOWN', 'CAP_KILL'], ['NET_ADMIN'], ['chown'], own), ['CAP_KILL', 'CAP_NET_ADMIN']);
  t.same(applyCapabilityChanges(defaultCapabilities, ['KILL'], ['ALL'], own), ['CAP_KILL'], 'drop ALL, then add');
  t.same(applyCapabilityChanges(['CAP_KILL'], ['KILL'], ['KILL'], own), ['CAP_KILL'], 'an add wins over a drop');
  t.same(applyCapabilityChanges([], ['ALL'], [], own), own, 'ALL: every one the daemon holds');
  t.same(applyCapabilityChanges([], ['ALL'], ['net_raw', 'CAP_SYS_ADMIN'], own), own.filter((c) => c !== 'CAP_NET_RAW' && c !== 'CAP_SYS_ADMIN'), 'add ALL, drop some: every one but those (docker)');
  t.same(applyCapabilityChanges([], ['ALL'], ['ALL'], own), own, 'add ALL, drop ALL: the add wins (docker)');
  t.same(applyCapabilityChanges(['CAP_SYS_RESOURCE', 'CAP_KILL'], [], [], own), ['CAP_KILL'], 'a base capability the daemon lacks is left out');
  t.throws(() => applyCapabilityChanges([], ['SYS_RESOURCE'], [], own), { code: 'ERR_NOT_SUPPORTED', message: /cannot add CAP_SYS_RESOURCE: the daemon does not hold it/ });
  t.same(ownCapabilities('Name:\tx\nCapBnd:\t0000000000000021\n'), ['CAP_CHOWN', 'CAP_KILL'], 'read from CapBnd');
  t.same(processCapabilities(['CAP_KILL'], true), { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: [], ambient: [] });
  t.same(processCapabilities(['CAP_KILL'], false), { bounding: ['CAP_KILL'], effective: [], permitted: [], inheritable: [], ambient: [] }, 'another user holds none');
});

/** Runs a task from `req` to its end; its output. */
const output = async (req: Parameters<DaemonClient['createTask']>[0]): Promise<string> => (await runToEnd(c, req)).out;

/** The capability names of a `CapEff` line. */
const held = (out: string): readonly string[] => ownCapabilities(out.replace('CapEff', 'CapBnd'));

for (const runtime of ['runc', 'runsc'] as const) {
  t.test(`${runtime}: docker's default set for root, none for another user, --cap-add and --cap-drop`, { timeout: 90_000 }, async (t) => {
    const script = 'grep CapEff /proc/self/status; chown nobody /tmp 2>/dev/null && echo chown-ok || echo chown-refused';
    const asRoot = await output({ runtime, args: ['sh', '-c', script] });
    // runsc leaves NET_RAW out unless its --net-raw flag is given.
    t.same(held(asRoot), defaultCapabilities.filter((x) => runtime === 'runc' || x !== 'CAP_NET_RAW').sort((a, b) => allCapabilities.indexOf(a as never) - allCapabilities.indexOf(b as never)), 'docker\'s set');
    t.match(asRoot, /chown-ok/);
    t.same(held(await output({ runtime, args: ['sh', '-c', script], user: 'nobody' })), [], 'nobody holds none');
    const dropped = await output({ runtime, args: ['sh', '-c', script], capDrop: ['ALL'], capAdd: ['kill'] });
    t.same(held(dropped), ['CAP_KILL']);
    t.match(dropped, /chown-refused/);
    const id = `caps-exec-${runtime}`;
    await c.createTask({ id, runtime, args: ['sleep', '1000'] });
    let text = '';
    const h = await c.exec(id, { args: ['grep', 'CapEff', '/proc/self/status'], user: 'nobody', stdout: new Writable({ write(ch, _e, cb) { text += ch; cb(); } }) });
    await h.wait();
    t.same(held(text), [], 'an exec as another user holds none either');
    t.same((await c.getTask(id)).capabilities, defaultCapabilities, 'inspect shows the set');
    await c.remove(id, { force: true });
  });
}

t.test('refused: unknown names, runsc\'s unknown capabilities, host tasks', { timeout: 60_000 }, async (t) => {
  await t.rejects(c.createTask({ runtime: 'runc', args: ['true'], capAdd: ['CAP_FLY'] }), { code: 'ERR_INVALID_FIELD', status: 400, message: /unknown capability: "CAP_FLY"/ });
  await t.rejects(c.createTask({ runtime: 'runsc', args: ['true'], capAdd: ['bpf'] }), { code: 'ERR_NOT_SUPPORTED', status: 400, message: /cannot add CAP_BPF on runsc/ });
  await t.rejects(c.createTask({ runtime: 'host', args: ['true'], capDrop: ['ALL'] }), { code: 'ERR_NOT_SUPPORTED', message: /capabilities need runtime runsc or runc/ });
  t.same(taskDirs(root), [], 'nothing left');
});
