import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LinkGuard } from '../../src/cli/cpLinkGuard.js';

/** A destination directory of the test's own, removed with it. */
function destination(t: Pick<Test, 'teardown'>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-linkguard-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What `guard` says of members `[name, type, link?]` in turn: `ok`, or the refusal's message. */
function verdicts(guard: LinkGuard, members: Array<[string, string, string?]>): string[] {
  return members.map(([name, type, link]) => {
    try {
      guard.member(name, type, link ?? '');
      return 'ok';
    } catch (err) {
      return `${(err as { code: string }).code}: ${(err as Error).message}`;
    }
  });
}

t.test('a member under a link the archive made is refused; under one it replaced by a directory or file, not', { timeout: 10_000 }, async (t) => {
  const dir = destination(t);
  t.same(verdicts(new LinkGuard(dir), [
    ['copy/', '5'], ['copy/l', '2', ''], ['copy/l/x', '0'], ['copy/sub/', '5'], ['copy/sub/f', '0'],
    ['copy/l', '5'], ['copy/l/y', '0'], ['copy/m', '2'], ['copy/m', '0'], ['copy/m/z', '0'],
  ]), [
    'ok', 'ok', `ERR_INVALID_ARG_VALUE: tar member "copy/l/x" would be written through the symbolic link "${dir}/copy/l": refused`, 'ok', 'ok',
    'ok', 'ok', 'ok', 'ok', 'ok',
  ]);
});

t.test('a link already in the destination: nothing is written through it, unless the archive makes a directory of it; a hard link\'s target neither', { timeout: 10_000 }, async (t) => {
  const dir = destination(t);
  fs.mkdirSync(path.join(dir, 'copy'));
  fs.symlinkSync('/etc', path.join(dir, 'copy', 'etc'));
  fs.symlinkSync('/etc', path.join(dir, 'copy', 'é'));
  fs.symlinkSync('/root', path.join(dir, 'copy', 'root'));
  const refused = (member: string, link: string): string => `ERR_INVALID_ARG_VALUE: tar member "${member}" would be written through the symbolic link "${dir}/copy/${link}": refused`;
  t.same(verdicts(new LinkGuard(dir), [
    ['copy/etc/passwd', '0'], ['copy/h', '1', 'copy/etc/shadow'], [Buffer.from('copy/é/x').toString('latin1'), '0'],
    ['copy/root/', '5'], ['copy/root/.ssh/authorized_keys', '0'], ['copy/etc', '0'],
  ]), [refused('copy/etc/passwd', 'etc'), refused('copy/h', 'etc'), refused('copy/é/x', 'é'), 'ok', 'ok', 'ok'], 'names are bytes (latin1 strings), as TarRebase keeps them');
  t.same(verdicts(new LinkGuard(path.join(dir, 'copy')), [['./', '5'], ['etc/x', '0']]), [
    'ok', `ERR_INVALID_ARG_VALUE: tar member "etc/x" would be written through the symbolic link "${dir}/copy/etc": refused`,
  ], 'DIR/. into the directory itself');
});
