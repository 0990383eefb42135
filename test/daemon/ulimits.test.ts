import t from 'tap';
import { Writable } from 'node:stream';
import type { DaemonClient } from '../../src/daemon/index.js';
import { ownCapabilities } from '../../src/daemon/capabilities.js';
import { checkUlimits, ownHardLimit, withUlimits } from '../../src/daemon/ulimits.js';
import { RLIM_INFINITY, ociJson } from '../../src/runtime/oci/index.js';
import { parseUlimit } from '../../src/cli/values.js';
import { client, daemonRoot, runToEnd, taskDirs } from './helpers.js';

const root = daemonRoot(t);
const c: DaemonClient = await client(root);
t.teardown(() => c.close());

t.test('unlimited is written as 2^64-1 exactly, also when read back; checks; the daemon\'s own limits', { timeout: 10_000 }, async (t) => {
  const spec = { process: { rlimits: [{ type: 'RLIMIT_CORE', soft: RLIM_INFINITY, hard: 2 ** 64 }, { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }] }, other: { soft: -1 } };
  const text = ociJson(spec);
  t.equal(text, '{"process":{"rlimits":[{"type":"RLIMIT_CORE","soft":18446744073709551615,"hard":18446744073709551615},{"type":"RLIMIT_NOFILE","soft":1024,"hard":4096}]},"other":{"soft":-1}}');
  t.equal(ociJson(JSON.parse(text)), text, 'a config.json read back writes the same');
  t.same(checkUlimits([{ name: 'nofile', soft: 1, hard: 2 }, { name: 'core', soft: -1, hard: -1 }]), [{ name: 'nofile', soft: 1, hard: 2 }, { name: 'core', soft: -1, hard: -1 }]);
  for (const [bad, message] of [
    [[{ name: 'files', soft: 1, hard: 1 }], /invalid ulimit files=1:1: unknown name/], [[{ name: 'nofile', soft: 2, hard: 1 }], /soft limit is above the hard one/],
    [[{ name: 'nofile', soft: -1, hard: 5 }], /soft limit is above/], [[{ name: 'nofile', soft: -2, hard: 5 }], /0 or more, or -1/],
    [[{ name: 'nofile', soft: 1, hard: 1 }, { name: 'nofile', soft: 1, hard: 1 }], /given twice/], [{ name: 'nofile' }, /must be an array/],
  ] as const) t.throws(() => checkUlimits(bad), { code: 'ERR_INVALID_FIELD', message }, JSON.stringify(bad));
  const limits = 'Limit  Soft Limit  Hard Limit  Units\nMax core file size        0                    unlimited            bytes\nMax open files            20000                20000                files\n';
  t.equal(ownHardLimit('nofile', limits), 20000);
  t.equal(ownHardLimit('core', limits), -1);
  t.same(parseUlimit('nofile=1024'), { name: 'nofile', soft: 1024, hard: 1024 }, 'one number: both');
  t.same(parseUlimit('core=-1:-1'), { name: 'core', soft: -1, hard: -1 });
  t.throws(() => parseUlimit('nofile'), { code: 'ERR_INVALID_ARG_VALUE', message: /expected NAME=SOFT\[:HARD\]/ });
  t.throws(() => parseUlimit('files=1'), { message: /unknown ulimit files/ });
  const own = ownHardLimit('nofile');
  t.same(withUlimits([{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }, { type: 'RLIMIT_CORE', soft: 0, hard: 0 }], [{ name: 'nofile', soft: 10, hard: 20 }], false),
    [{ type: 'RLIMIT_CORE', soft: 0, hard: 0 }, { type: 'RLIMIT_NOFILE', soft: 10, hard: 20 }], 'replaces the spec\'s limit of the same resource');
  if (own !== -1) {
    t.throws(() => withUlimits([], [{ name: 'nofile', soft: 1, hard: own + 1 }], false), { code: 'ERR_NOT_SUPPORTED', message: /above the daemon's own/ });
    t.same(withUlimits([], [{ name: 'nofile', soft: 1, hard: own + 1 }], true), [{ type: 'RLIMIT_NOFILE', soft: 1, hard: own + 1 }], 'unless it can raise it');
  }
});

/** Runs a task from `req` to its end; its output. */
const output = async (req: Parameters<DaemonClient['createTask']>[0]): Promise<string> => (await runToEnd(c, req)).out;

const ulimits = [{ name: 'nofile', soft: 512, hard: 4096 }, { name: 'core', soft: -1, hard: -1 }];
for (const runtime of ['runc', 'runsc', 'host'] as const) {
  t.test(`${runtime}: --ulimit sets the process's limits; an exec in the task gets them too`, { timeout: 90_000 }, async (t) => {
    t.equal(await output({ runtime, args: ['sh', '-c', 'ulimit -Sn; ulimit -Hn; ulimit -c'], ulimits }), '512\n4096\nunlimited\n');
    t.equal(await output({ runtime, args: ['sh', '-c', 'ulimit -n'], ulimits: [{ name: 'nofile', soft: 300, hard: 300 }], user: 'nobody' }), '300\n', 'kept by another user');
    if (runtime === 'host') return;
    const id = `ulimit-exec-${runtime}`;
    await c.createTask({ id, runtime, args: ['sleep', '1000'], ulimits });
    t.same((await c.getTask(id)).ulimits, ulimits, 'inspect shows them');
    let text = '';
    const h = await c.exec(id, { args: ['sh', '-c', 'ulimit -c'], stdout: new Writable({ write(ch, _e, cb) { text += ch; cb(); } }) });
    await h.wait();
    t.equal(text, 'unlimited\n', 'an unlimited limit survives the exec\'s process.json');
    await c.remove(id, { force: true });
  });
}

const ownNofile = ownHardLimit('nofile');
t.test('a hard limit above the daemon\'s own: runsc keeps it in its sentry; runc and host refuse it unless the daemon may raise it', {
  timeout: 60_000, skip: ownNofile === -1 ? 'the daemon has no nofile hard limit: nothing is above it' : false,
}, async (t) => {
  const above = [{ name: 'nofile', soft: ownNofile + 1, hard: ownNofile + 1 }];
  t.equal(await output({ runtime: 'runsc', args: ['sh', '-c', 'ulimit -n'], ulimits: above }), `${ownNofile + 1}\n`);
  // The daemon runs as this test does (root, the same capabilities); this machine kind's lacks CAP_SYS_RESOURCE.
  const mayRaise = ownCapabilities().includes('CAP_SYS_RESOURCE');
  for (const runtime of ['runc', 'host'] as const) {
    if (mayRaise) {
      t.equal(await output({ runtime, args: ['sh', '-c', 'ulimit -n'], ulimits: above }), `${ownNofile + 1}\n`, `${runtime}: raised`);
    } else {
      await t.rejects(c.createTask({ runtime, args: ['true'], ulimits: above }), { code: 'ERR_NOT_SUPPORTED', status: 400, message: /nofile hard limit .* is above the daemon's own/ }, `${runtime}: refused`);
    }
  }
  t.same(taskDirs(root), [], 'nothing left');
});
