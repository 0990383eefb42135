import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkBundle, readBundleConfig } from '../../../src/runtime/oci/bundleConfig.js';
import { mkfifo } from '../../../src/sys/index.js';
import { fdsUnder, tmpDir } from '../../helpers/common.js';

t.setTimeout(60_000);

t.test('a bundle config.json is read only as a regular file: never through a symlink, never waited on as a FIFO', async (t) => {
  const dir = tmpDir(t);
  const bundle = (name: string): string => {
    const b = path.join(dir, name);
    fs.mkdirSync(b);
    return b;
  };
  const good = bundle('good');
  fs.writeFileSync(path.join(good, 'config.json'), '{"ociVersion":"1.0.2"}');
  t.same(readBundleConfig(good), { ociVersion: '1.0.2' });
  t.equal(checkBundle(path.relative(process.cwd(), good)), good, 'the absolute bundle directory');

  // The bundle's own path may go through a link: only config.json itself may not be one.
  const linkedDir = path.join(dir, 'linked-dir');
  fs.symlinkSync(good, linkedDir);
  t.same(readBundleConfig(linkedDir), { ociVersion: '1.0.2' }, 'a linked bundle directory is followed');

  const secret = path.join(dir, 'secret.json');
  fs.writeFileSync(secret, '{"secret":true}');
  const linked = bundle('linked');
  fs.symlinkSync(secret, path.join(linked, 'config.json'));
  for (const read of [readBundleConfig, checkBundle]) {
    t.throws(() => read(linked), { code: 'ERR_INVALID_BUNDLE', message: `bundle ${linked} has a config.json that is a symlink` }, read.name);
  }
  const dangling = bundle('dangling');
  fs.symlinkSync(path.join(dir, 'would-be'), path.join(dangling, 'config.json'));
  t.throws(() => readBundleConfig(dangling), { code: 'ERR_INVALID_BUNDLE', message: /is a symlink/ }, 'a dangling link is a link too');

  // A loop of links in the bundle's path is not called a linked config.json.
  const loop = path.join(dir, 'loop');
  fs.symlinkSync(loop, loop);
  t.throws(() => readBundleConfig(loop), { code: 'ERR_INVALID_BUNDLE', message: new RegExp(`^bundle ${loop} has no readable config.json \\(ELOOP`) });

  const fifo = bundle('fifo');
  mkfifo(path.join(fifo, 'config.json'), 0o600); // no writer: a blocking open would hang here
  t.throws(() => readBundleConfig(fifo), { code: 'ERR_INVALID_BUNDLE', message: `bundle ${fifo} has a config.json that is not a regular file` });
  const asDir = bundle('asdir');
  fs.mkdirSync(path.join(asDir, 'config.json'));
  t.throws(() => checkBundle(asDir), { code: 'ERR_INVALID_BUNDLE', message: /has a config\.json that is not a regular file/ });
  t.throws(() => readBundleConfig(path.join(dir, 'missing')), { code: 'ERR_INVALID_BUNDLE', message: /missing has no config\.json$/ });
  const bad = bundle('bad');
  fs.writeFileSync(path.join(bad, 'config.json'), '{not json');
  t.throws(() => readBundleConfig(bad), { code: 'ERR_INVALID_BUNDLE', message: new RegExp(`^cannot read ${bad}/config\\.json: `) });
  t.throws(() => checkBundle('a\0b'), { code: 'ERR_INVALID_BUNDLE', message: /invalid bundle path/ });
  t.same(fdsUnder(dir), [], 'no fd left open');
});
