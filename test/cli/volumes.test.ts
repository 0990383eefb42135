import t from 'tap';
import path from 'node:path';
import { parseMount, parseTmpfs, parseVolume } from '../../src/cli/volumes.js';

const opts = { timeout: 10_000 };

t.test('-v HOST:TASK[:OPTS]: docker\'s bind mounts', opts, async (t) => {
  t.same(parseVolume('/srv/data:/data'), { type: 'bind', source: '/srv/data', target: '/data' });
  t.same(parseVolume('/srv/data:/data:ro'), { type: 'bind', source: '/srv/data', target: '/data', readonly: true });
  t.same(parseVolume('/srv:/srv:rw,rslave'), { type: 'bind', source: '/srv', target: '/srv', readonly: false, propagation: 'rslave' });
  t.same(parseVolume('./build:/out'), { type: 'bind', source: path.resolve('build'), target: '/out' }, 'a path starting with . is this directory\'s (docker 23)');
  t.same(parseVolume('/a:/b:Z'), { type: 'bind', source: '/a', target: '/b' }, 'z/Z: no SELinux here, nothing to relabel');
  t.same(parseVolume('/a:/b:cached'), { type: 'bind', source: '/a', target: '/b' }, 'a consistency mode (Docker Desktop\'s): taken, changing nothing, as docker on Linux');
  t.same(parseVolume('/a:/b:ro,delegated'), { type: 'bind', source: '/a', target: '/b', readonly: true });
  t.same(parseVolume('/a:/b:consistent'), { type: 'bind', source: '/a', target: '/b' });
  t.throws(() => parseVolume('/a:/b:cached,delegated'), { code: 'ERR_INVALID_ARG_VALUE', message: /two consistency modes/ });
  t.same(parseMount('type=bind,src=/a,dst=/b,consistency=cached'), { type: 'bind', source: '/a', target: '/b' }, '--mount consistency= too');
  t.same(parseMount('type=tmpfs,dst=/b,consistency=default'), { type: 'tmpfs', target: '/b' });
  t.throws(() => parseMount('type=bind,src=/a,dst=/b,consistency=fast'), { code: 'ERR_INVALID_ARG_VALUE', message: /consistency=fast: expected one of default, consistent, cached, delegated/ });
  const bad: [string, RegExp][] = [
    ['/data', /no anonymous volumes/], ['cache:/cache', /"cache" is not a host path: taskio has no named volumes/],
    ['/a:/b:ro,rw', /conflicting options ro and rw/], ['/a:/b:nocopy', /unknown option "nocopy"/], ['/a:/b:rslave,shared', /two propagations/],
    ['/a::ro', /expected HOST-PATH:TASK-PATH/], ['/a:/b:ro:x', /expected HOST-PATH:TASK-PATH/],
  ];
  for (const [v, message] of bad) t.throws(() => parseVolume(v), { code: 'ERR_INVALID_ARG_VALUE', message }, v);
});

t.test('--tmpfs TASK[:OPTS]', opts, async (t) => {
  t.same(parseTmpfs('/run'), { type: 'tmpfs', target: '/run' });
  t.same(parseTmpfs('/run:rw,size=64m,mode=1770,exec,nosuid'), { type: 'tmpfs', target: '/run', readonly: false, size: 64 * 1024 * 1024, mode: 0o1770, exec: true });
  for (const [v, message] of [[':size=1m', /expected TASK-PATH/], ['/x:suid', /unknown tmpfs option "suid"/], ['/x:mode=999', /must be octal/], ['/x:size=lots', /invalid size/]] as const) {
    t.throws(() => parseTmpfs(v), { message }, v);
  }
});

t.test('--mount type=bind|tmpfs,… with docker\'s keys and aliases', opts, async (t) => {
  t.same(parseMount('type=bind,source=/a,target=/b'), { type: 'bind', source: '/a', target: '/b' });
  t.same(parseMount('type=bind,src=/a,dst=/b,readonly,bind-propagation=rshared'), { type: 'bind', source: '/a', target: '/b', readonly: true, propagation: 'rshared' });
  t.same(parseMount('type=bind,src=/a,destination=/b,ro=false'), { type: 'bind', source: '/a', target: '/b', readonly: false });
  t.same(parseMount('type=tmpfs,target=/t,tmpfs-size=1g,tmpfs-mode=700'), { type: 'tmpfs', target: '/t', size: 1024 ** 3, mode: 0o700 });
  const bad: [string, RegExp][] = [
    ['source=/a,target=/b', /taskio mounts are type=bind or type=tmpfs/], ['type=volume,src=v,dst=/v', /type=volume/],
    ['type=bind,target=/b', /source=… is required/], ['type=bind,source=/a', /target=… is required/],
    ['type=bind,src=/a,dst=/b,tmpfs-size=1m', /tmpfs-size is not an option of type=bind/], ['type=tmpfs,src=/a,dst=/b', /source is not an option of type=tmpfs/],
    ['type=bind,src=/a,src=/c,dst=/b', /source is given twice/], ['type=bind,src=/a,dst=/b,readonly=maybe', /expected true or false/],
    ['type=bind,src=/a,dst=/b,bind-propagation=up', /bind-propagation=up/], ['type=bind,src=/a,dst=/b,volume-nocopy', /unknown key "volume-nocopy"/],
  ];
  for (const [v, message] of bad) t.throws(() => parseMount(v), { code: 'ERR_INVALID_ARG_VALUE', message }, v);
});
