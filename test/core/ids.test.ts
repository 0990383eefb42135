import t from 'tap';
import { validateId } from '../../src/ids.js';

t.test('validateId accepts containerd identifiers and names what it refuses', async (t) => {
  for (const ok of ['a', 'A1_b.c-d', 'web-1', 'x'.repeat(76), '0..1']) t.equal(validateId(ok), ok);
  const bad: unknown[] = ['', '.', '..', '../x', 'a/b', 'a/../../b', '/abs', '-rf', '_x', 'x'.repeat(77), 'x'.repeat(1025), 'a\0b', 'a\nb', 'a b', 'é', 42, null, undefined, {}];
  for (const id of bad) t.throws(() => validateId(id), { code: 'ERR_INVALID_ID' }, `refuses ${JSON.stringify(id) ?? String(id)}`);
  t.throws(() => validateId('../x', 'exec'), { message: /^invalid exec id "\.\.\/x"/ });
  t.throws(() => validateId('y'.repeat(1025)), { message: /\(1025 characters\)/ }, 'a long id is shown cut');
});
