import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { TarRebase } from '../../src/cli/tarRebase.js';

/** A directory of the test's own, removed with it. */
function scratch(t: Pick<Test, 'teardown'>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskio-tarrebase-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** GNU tar's archive (its default GNU format, as busybox tar writes) of `names` in `dir`. */
function gnuTar(dir: string, ...names: string[]): Buffer {
  const r = spawnSync('tar', ['-c', '-f', '-', '--format=gnu', '-C', dir, '--', ...names]);
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return r.stdout;
}

/** `archive` through a {@link TarRebase} in small chunks (a header split across reads too). */
async function rebased(archive: Buffer, base: string, name: string): Promise<{ out: Buffer; rebase: TarRebase }> {
  const rebase = new TarRebase({ base, name });
  const chunks: Buffer[] = [];
  for (let i = 0; i < archive.length; i += 700) chunks.push(archive.subarray(i, i + 700));
  const out: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    Readable.from(chunks).pipe(rebase).on('data', (c: Buffer) => out.push(c)).on('end', resolve).on('error', reject);
  });
  return { out: Buffer.concat(out), rebase };
}

/** What GNU tar lists of `archive`: `name` or `name link to target`. */
function listed(archive: Buffer): string[] {
  const r = spawnSync('tar', ['-t', '-v', '-f', '-'], { input: archive, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^\S+ \S+ +\d+ \S+ \S+ /, '')).sort();
}

t.test('renames the top entry, long names (GNU L/K) and hard links too; counts the files\' bytes', { timeout: 30_000 }, async (t) => {
  const dir = scratch(t);
  const long = 'x'.repeat(120);
  fs.mkdirSync(path.join(dir, 'src', long), { recursive: true });
  fs.writeFileSync(path.join(dir, 'src', long, 'f'), 'hello');
  fs.linkSync(path.join(dir, 'src', long, 'f'), path.join(dir, 'src', 'hard'));
  fs.symlinkSync('/etc/passwd', path.join(dir, 'src', 'soft'));
  const { out, rebase } = await rebased(gnuTar(dir, 'src'), 'src', 'copy');
  const names = listed(out);
  t.same(names.map((l) => l.replace(/ link to .*/, '')), ['copy/', `copy/${long}/`, `copy/${long}/f`, 'copy/hard', 'copy/soft -> /etc/passwd'].sort(), 'every member renamed, a symbolic link\'s target not');
  t.match(names.find((l) => l.includes(' link to ')), /^copy\/\S+ link to copy\/\S+$/, 'a hard link\'s target renamed too');
  t.equal(rebase.contentBytes, 5);
  const contents = await rebased(gnuTar(path.join(dir, 'src'), '.'), '.', 'new');
  t.same(listed(contents.out).filter((l) => !l.includes(long)), ['new/', 'new/hard', 'new/soft -> /etc/passwd'], 'DIR/. under a new name');
});

t.test('refuses what could land outside: .., absolute names, a member beside the base, data on a link', { timeout: 30_000 }, async (t) => {
  const dir = scratch(t);
  fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'beside'), 'x');
  const refused = async (archive: Buffer, base: string, message: RegExp, what: string): Promise<void> => {
    await t.rejects(rebased(archive, base, 'copy'), { code: 'ERR_INVALID_ARG_VALUE', message }, what);
  };
  await refused(gnuTar(dir, 'a', 'beside'), 'a', /^tar member "beside" is not under "a": refused/, 'a member beside the base');
  const dotdot = spawnSync('tar', ['-c', '-f', '-', '--format=gnu', '--absolute-names', '-C', path.join(dir, 'a', 'b'), '../../beside']).stdout;
  await refused(dotdot, '.', /^tar member "\.\.\/\.\.\/beside" is not under "\."/, 'a member with ..');
  const absolute = spawnSync('tar', ['-c', '-f', '-', '--format=gnu', '--absolute-names', path.join(dir, 'beside')]).stdout;
  await refused(absolute, '.', /is not under "\."/, 'an absolute member');
  // A symbolic link that claims data: another extractor might read a member out of it.
  fs.symlinkSync('b', path.join(dir, 'a', 'l'));
  const archive = gnuTar(dir, 'a/l');
  archive.write('00000001000\0', 124, 'latin1');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : archive[i]!;
  archive.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  await refused(archive, 'a', /^tar member "a\/l" \(type 2\) claims 512 bytes of data$/, 'data on a link');
  await refused(Buffer.alloc(1024, 1), 'a', /checksum/, 'not a tar stream');
});
