/** The pure parts of the OCI driver: log entries, signals, stats, error messages, gVisor-shim setup. */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runsc, RuntimeError, lastLogError, newRunsc, parseLogEntries, parseStats, signalNumber } from '../../../src/runtime/oci/index.js';

t.test('log entries: runsc without newlines, runc with them, torn text skipped', async (t) => {
  const runsc = '{"msg":"a {b}","level":"info"}{"msg":"say \\"hi\\"","level":"error"}';
  t.same(parseLogEntries(runsc).map((e) => e.msg), ['a {b}', 'say "hi"']);
  const runc = '{"level":"error","msg":"one"}\n{"level":"warning","msg":"two"}\ngarbage {"level":"error","msg":"three"}\n{"torn":';
  t.same(parseLogEntries(runc).map((e) => e.msg), ['one', 'two', 'three']);
});

t.test('lastLogError reads only what was appended since the offset', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-oci-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'log.json');
  t.equal(await lastLogError(log, 0), '', 'no log: no message');
  fs.writeFileSync(log, '{"msg":"old failure","level":"error"}');
  const offset = fs.statSync(log).size;
  t.equal(await lastLogError(log, offset), '', 'an earlier call\'s error is not ours');
  fs.appendFileSync(log, '{"msg":"first","level":"error"}{"msg":"debug","level":"debug"}{"msg":"last","level":"error"}{"msg":"after","level":"info"}');
  t.equal(await lastLogError(log, offset), 'last');
  fs.writeFileSync(log, '{"msg":"rotated","level":"error"}');
  t.equal(await lastLogError(log, offset + 1000), 'rotated', 'a truncated log is read whole');
});

t.test('signals by name or number', async (t) => {
  t.equal(signalNumber('KILL'), 9);
  t.equal(signalNumber('SIGTERM'), 15);
  t.equal(signalNumber('sigusr1'), os.constants.signals.SIGUSR1);
  t.equal(signalNumber(2), 2);
  t.equal(signalNumber('9'), 9);
  for (const bad of ['NOPE', 0, 99, -1, '', 'SIG']) t.throws(() => signalNumber(bad), { code: 'ERR_INVALID_SIGNAL' }, String(bad));
});

t.test('stats from both runtimes\' events --stats', async (t) => {
  const runsc = parseStats('{"type":"stats","id":"s1","data":{"cpu":{"usage":{"total":115099815}},"memory":{"usage":{"limit":0,"usage":2457600,"failcnt":0}},"pids":{"current":2}}}\n');
  t.same({ cpu: runsc.cpu, memory: runsc.memory, pids: runsc.pids }, { cpu: { usageTotal: 115099815 }, memory: { usage: 2457600, limit: 0 }, pids: { current: 2 } });
  const runc = parseStats('{"type":"stats","id":"s1","data":{"cpu":{"usage":{"total":17135108,"kernel":10000000,"user":0}},"memory":{"usage":{"limit":100,"usage":1011712,"max":2510848}},"pids":{"current":2,"limit":50}}}');
  t.same(runc.cpu, { usageTotal: 17135108, usageKernel: 10000000, usageUser: 0 });
  t.same(runc.memory, { usage: 1011712, limit: 100, max: 2510848 });
  t.same(runc.pids, { current: 2, limit: 50 });
  t.same(parseStats('{"data":{}}').pids, { current: 0 }, 'missing fields read as 0');
});

t.test('RuntimeError names the binary, subcommand, message and status', async (t) => {
  const e = new RuntimeError({ command: 'runsc', args: ['--root', '/r', 'create', 'x'], subcommand: 'create', exitCode: 128, runtimeMessage: 'boom' });
  t.equal(e.message, 'runsc create: boom (exit status 128)');
  t.match(e, { code: 'ERR_RUNTIME', name: 'RuntimeError', exitCode: 128, runtimeMessage: 'boom' });
  const s = new RuntimeError({ command: 'runc', args: [], exitCode: null, signal: 'SIGKILL', runtimeMessage: '', stderr: 'oops\n' });
  t.equal(s.message, 'runc: oops (signal SIGKILL)');
});

t.test('newRunsc: a root per namespace, the log in the bundle, config as global flags', async (t) => {
  const r = newRunsc('/run/x', '/b/ndl', 'k8s.io', '/usr/bin/runsc', { platform: 'ptrace', 'debug-log': '/tmp/d/' });
  t.equal(r.root, '/run/x/k8s.io');
  t.equal(r.logPath, '/b/ndl/log.json');
  t.equal(r.command, '/usr/bin/runsc');
  t.same(await r.globalArgs(), ['--root', '/run/x/k8s.io', '--log', '/b/ndl/log.json', '--log-format=json', '--network=none', '--debug-log=/tmp/d/', '--platform=ptrace']);
  const n = newRunsc('/run/x', '/b', 'default', 'runsc', { network: 'host' });
  t.notOk((await n.globalArgs()).includes('--network=none'), 'a configured network replaces the default');
  for (const ns of ['..', '../etc', 'a/b', '', '/abs']) {
    t.throws(() => newRunsc('/run/x', '/b', ns, 'runsc'), { code: 'ERR_INVALID_ID', message: /^invalid namespace id/ }, `namespace ${JSON.stringify(ns)}`);
  }
});

t.test('ociSeccomp: runsc gets --oci-seccomp on every call, runc nothing; global flags naming it win', async (t) => {
  const args = (o: ConstructorParameters<typeof Runsc>[0]) => new Runsc({ root: '/run/x', ...o }).globalArgs();
  t.ok((await args({ dialect: 'runsc', ociSeccomp: true })).includes('--oci-seccomp'));
  t.notOk((await args({ dialect: 'runsc' })).includes('--oci-seccomp'), 'not asked: not given (create looks at the bundle)');
  t.notOk((await args({ dialect: 'runc', ociSeccomp: true })).includes('--oci-seccomp'), 'runc has no such flag: it always applies the filter');
  t.same((await args({ dialect: 'runsc', ociSeccomp: true, globalFlags: ['--oci-seccomp=false'] })).filter((f) => f.includes('oci-seccomp')), ['--oci-seccomp=false']);
});
