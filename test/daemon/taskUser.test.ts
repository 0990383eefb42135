import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ociUser, resolveUser } from '../../src/daemon/taskUser.js';

/** A rootfs with an /etc of its own, removed with the test. */
function rootfs(t: { teardown(fn: () => void): void }, passwd: string | null, group: string | null): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-user-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'etc'));
  if (passwd !== null) fs.writeFileSync(path.join(dir, 'etc/passwd'), passwd);
  if (group !== null) fs.writeFileSync(path.join(dir, 'etc/group'), group);
  return dir;
}

const passwd = 'root:x:0:0:root:/root:/bin/sh\n# a comment\nbuild:x:1000:1000:CI:/home/build:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const group = 'root:x:0:\ndocker:x:998:build,other\nbuild:x:1000:\naudio:x:29:build\nnogroup:x:65534:\n';

t.test('names and numbers resolve against the rootfs\'s passwd and group, as docker does', { timeout: 10_000 }, async (t) => {
  const dir = rootfs(t, passwd, group);
  t.same(resolveUser('build', dir), { uid: 1000, gid: 1000, home: '/home/build', additionalGids: [998, 29] }, 'a name: its primary group, the groups listing it, its home');
  t.same(resolveUser('1000', dir), { uid: 1000, gid: 1000, home: '/home/build', additionalGids: [998, 29] }, 'its uid finds the same entry');
  t.same(resolveUser('build:audio', dir), { uid: 1000, gid: 29, home: '/home/build' }, 'a group given: that group only');
  t.same(resolveUser('build:4242', dir), { uid: 1000, gid: 4242, home: '/home/build' }, 'a gid found nowhere is taken as it is');
  t.same(resolveUser('4321', dir), { uid: 4321, gid: 0 }, 'a uid found nowhere runs with group 0');
  t.same(resolveUser('4321:4321', dir), { uid: 4321, gid: 4321 });
  t.same(resolveUser('nobody', dir), { uid: 65534, gid: 65534, home: '/nonexistent' });
  t.same(ociUser(resolveUser('build', dir)), { uid: 1000, gid: 1000, additionalGids: [998, 29] }, 'OCI\'s process.user has no home');
});

t.test('a malformed user or a name the rootfs does not know is ERR_INVALID_USER naming it', { timeout: 10_000 }, async (t) => {
  const dir = rootfs(t, passwd, group);
  const cases: [string, RegExp][] = [
    ['ghost', /invalid user "ghost": unable to find user ghost: no matching entries in .*\/etc\/passwd/],
    ['build:ghosts', /invalid user "build:ghosts": unable to find group ghosts: no matching entries in .*\/etc\/group/],
    ['4294967295', /uid 4294967295 is out of range/],
    ['1:99999999999', /gid 99999999999 is out of range/],
    ['', /expected user\[:group\]/], [':0', /expected user/], ['0:', /expected user/], ['a:b:c', /expected user/], ['a b', /expected user/],
  ];
  for (const [spec, message] of cases) t.throws(() => resolveUser(spec, dir), { code: 'ERR_INVALID_USER', message }, JSON.stringify(spec));
});

t.test('the files are the rootfs\'s own: a link out of it is not followed, a FIFO not opened', { timeout: 10_000 }, async (t) => {
  // /etc a link to the host's /etc: names are not found (the host's passwd would know "root").
  const linked = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-user-'));
  t.teardown(() => fs.rmSync(linked, { recursive: true, force: true }));
  fs.symlinkSync('/etc', path.join(linked, 'etc'));
  t.throws(() => resolveUser('root', linked), { code: 'ERR_INVALID_USER', message: /unable to find user root/ }, '/etc as a link');
  t.same(resolveUser('0', linked), { uid: 0, gid: 0 }, 'numbers still work');
  // passwd a link to the host's, group a FIFO (a blocking open would hang here).
  const planted = rootfs(t, null, null);
  fs.symlinkSync('/etc/passwd', path.join(planted, 'etc/passwd'));
  execFileSync('mkfifo', [path.join(planted, 'etc/group')]);
  t.throws(() => resolveUser('root', planted), { code: 'ERR_INVALID_USER' }, 'passwd as a link is not read');
  t.same(resolveUser('0:0', planted), { uid: 0, gid: 0 }, 'a group file that is a FIFO is not read');
  t.throws(() => resolveUser('0:root', planted), { code: 'ERR_INVALID_USER', message: /unable to find group root/ });
  const none = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-user-'));
  t.teardown(() => fs.rmSync(none, { recursive: true, force: true }));
  t.same(resolveUser('7:8', none), { uid: 7, gid: 8 }, 'a rootfs without /etc takes numbers');
});
