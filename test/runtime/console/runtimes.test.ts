import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Console, newConsoleSocket } from '../../../src/runtime/console/index.js';
import { defaultMonitor } from '../../../src/runtime/reaper/index.js';

const RUNC = ['/usr/sbin/runc', '/usr/bin/runc'].find((p) => fs.existsSync(p));
const RUNSC = ['/usr/bin/runsc', '/usr/sbin/runsc', '/usr/local/bin/runsc'].find((p) => fs.existsSync(p));
const BUSYBOX = ['/usr/bin/busybox', '/bin/busybox'].find((p) => fs.existsSync(p));
const root = process.getuid?.() === 0;

/** Runs `bin` with `args`; resolves with its exit code and stderr. Never reads its stdout to EOF. */
function run(bin: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d));
    c.on('error', reject);
    // 'exit', not 'close': a container may hold runc's stdio open.
    c.on('exit', (code) => resolve({ code, stderr }));
  });
}

for (const [name, bin, globals] of [['runc', RUNC, []], ['runsc', RUNSC, ['--network=none']]] as const) {
  t.test(`${name} hands its pty master over the console socket; size and exit status come through`,
    { timeout: 30000, skip: !bin || !BUSYBOX || !root ? `needs ${name}, busybox and root` : false }, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-runc-console-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const bundle = path.join(dir, 'bundle'), state = path.join(dir, 'state'), id = `taskio-console-${name}-${process.pid}`;
    fs.mkdirSync(path.join(bundle, 'rootfs', 'bin'), { recursive: true });
    fs.copyFileSync(BUSYBOX!, path.join(bundle, 'rootfs', 'bin', 'busybox'));
    fs.chmodSync(path.join(bundle, 'rootfs', 'bin', 'busybox'), 0o755);
    for (const name of ['sh', 'stty']) fs.symlinkSync('busybox', path.join(bundle, 'rootfs', 'bin', name));
    await new Promise<void>((resolve, reject) => {
      const c = spawn(bin!, ['spec'], { cwd: bundle, stdio: 'ignore' });
      c.on('error', reject);
      c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${name} spec exited ${code}`))));
    });
    const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { process: { args: string[]; terminal: boolean } };
    config.process.args = ['/bin/sh', '-c', 'read go; stty size; exit 7'];
    config.process.terminal = true;
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));

    const sub = defaultMonitor.subscribe();
    t.teardown(() => defaultMonitor.unsubscribe(sub));
    const sock = await newConsoleSocket(dir);
    t.teardown(() => sock.close());
    t.teardown(() => run(bin!, ['--root', state, ...globals, 'delete', '--force', id]));
    const master = sock.receiveMaster();
    const pidFile = path.join(dir, 'init.pid');
    const created = await run(bin!, ['--root', state, ...globals, 'create', '--bundle', bundle, '--console-socket', sock.path, '--pid-file', pidFile, id]);
    t.equal(created.code, 0, created.stderr);
    const con = new Console(await master);
    t.teardown(() => con.close());
    con.resize({ cols: 77, rows: 33 });
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    t.ok(pid > 0, 'init pid from the pid file');
    const started = await run(bin!, ['--root', state, ...globals, 'start', id]);
    t.equal(started.code, 0, started.stderr);
    let text = '';
    con.output.on('data', (d: Buffer) => (text += d));
    const ended = new Promise<void>((resolve, reject) => { con.output.on('end', resolve); con.output.on('error', reject); });
    await con.write('go\n');
    await ended;
    t.match(text, /33 77\r\n/, 'stty size inside sees the size set before start');
    const exit = await sub.wait(pid);
    t.equal(exit.status, 7, name === 'runc' ? 'the reaped init carries the exit status' : 'the reaped sandbox carries the exit status');
    const deleted = await run(bin!, ['--root', state, ...globals, 'delete', id]);
    t.equal(deleted.code, 0, deleted.stderr);
  });
}

t.teardown(() => defaultMonitor.stop());
