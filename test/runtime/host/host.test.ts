import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { HostRuntime } from '../../../src/runtime/host/index.js';
import { Init } from '../../../src/runtime/proc/index.js';
import { procSuite } from '../proc/suite.js';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-host-test-'));
const runtime = new HostRuntime();
let n = 0;

procSuite(t, {
  name: 'host', runtime, base,
  skip: { checkpoint: 'the host backend cannot checkpoint (ERR_NOT_SUPPORTED, tested below)' },
  async bundle(name, opts) {
    // Only config.json: the host runs `process.args` with the host's own binaries.
    const dir = path.join(base, 'bundles', `${name}-${n++}`);
    fs.mkdirSync(dir, { recursive: true });
    const env = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...(opts.terminal ? ['TERM=xterm'] : [])];
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { terminal: opts.terminal ?? false, args: opts.args, env, cwd: dir } }));
    return dir;
  },
  id: (name) => `${name}-${n++}-${crypto.randomBytes(3).toString('hex')}`,
});

t.test('host: checkpoint and restore are not supported, kill of a created task is refused', { timeout: 20_000 }, async (t) => {
  const dir = path.join(base, 'unsupported');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ process: { args: ['sleep', '1000'], env: ['PATH=/bin:/usr/bin'], cwd: '/' } }));
  const init = new Init('unsupported', runtime, { stdin: '', stdout: '', stderr: '', terminal: false });
  await init.create({ id: 'unsupported', bundle: dir, terminal: false, stdin: '', stdout: '', stderr: '' });
  await t.rejects(init.kill('TERM'), { code: 'ERR_INVALID_STATE' });
  await init.start();
  await t.rejects(init.checkpoint({ imagePath: path.join(dir, 'img') }), { code: 'ERR_NOT_SUPPORTED' });
  await init.pause();
  t.equal(await init.status(), 'paused');
  await init.resume();
  await init.kill('KILL');
  await init.wait();
  t.equal(init.exitStatus(), 137);
  await init.delete();
});

t.test('host: a missing command fails at start with ENOENT naming it', { timeout: 20_000 }, async (t) => {
  const dir = path.join(base, 'missing');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ process: { args: ['/no/such/command'], env: [], cwd: '/' } }));
  const init = new Init('missing', runtime, { stdin: '', stdout: '', stderr: '', terminal: false });
  await init.create({ id: 'missing', bundle: dir, terminal: false, stdin: '', stdout: '', stderr: '' });
  await t.rejects(init.start(), { code: 'ENOENT', message: /\/no\/such\/command/ });
  await init.delete();
  t.equal(await init.status(), 'deleted');
});

t.test('host: state() follows the task through one transition table: created, running, paused, stopped', { timeout: 20_000 }, async (t) => {
  const dir = path.join(base, 'states');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ process: { args: ['sleep', '1000'], env: ['PATH=/bin:/usr/bin'], cwd: '/' } }));
  const id = `states-${crypto.randomBytes(3).toString('hex')}`;
  const init = new Init(id, runtime, { stdin: '', stdout: '', stderr: '', terminal: false });
  await init.create({ id, bundle: dir, terminal: false, stdin: '', stdout: '', stderr: '' });
  t.equal((await runtime.state(id)).status, 'created');
  await t.rejects(runtime.exec(id, { args: ['true'], cwd: '/' }, {}).then(() => runtime.pause(id)), { code: 'ERR_INVALID_STATE', message: 'cannot pause a created task' });
  await init.start();
  t.equal((await runtime.state(id)).status, 'running');
  await init.pause();
  t.equal((await runtime.state(id)).status, 'paused');
  await t.rejects(runtime.exec(id, { args: ['true'], cwd: '/' }, {}), { code: 'ERR_INVALID_STATE', message: 'cannot exec in a paused task' });
  await init.resume();
  await init.kill('KILL');
  await init.wait();
  t.equal((await runtime.state(id)).status, 'stopped', 'the init\'s exit stops the task');
  await t.rejects(runtime.start(id), { code: 'ERR_INVALID_STATE', message: 'cannot start a stopped task' });
  await init.delete();
  await t.rejects(runtime.state(id), { code: 'ERR_NOT_FOUND' });
});
