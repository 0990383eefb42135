import t from 'tap';
import { validateContainerId, validateId } from '../../src/ids.js';

t.test('validateId accepts containerd identifiers and names what it refuses', async (t) => {
  for (const ok of ['a', 'A1_b.c-d', 'web-1', 'x'.repeat(76), '0..1']) t.equal(validateId(ok), ok);
  const bad: unknown[] = ['', '.', '..', '../x', 'a/b', 'a/../../b', '/abs', '-rf', '_x', 'x'.repeat(77), 'x'.repeat(1025), 'a\0b', 'a\nb', 'a b', 'é', 42, null, undefined, {}];
  for (const id of bad) t.throws(() => validateId(id), { code: 'ERR_INVALID_ID' }, `refuses ${JSON.stringify(id) ?? String(id)}`);
  t.throws(() => validateId('../x', 'exec'), { message: /^invalid exec id "\.\.\/x"/ });
  t.throws(() => validateId('y'.repeat(1025)), { message: /\(1025 characters\)/ }, 'a long id is shown cut');
});

t.test('validateContainerId also takes a daemon helper\'s id (<id>+<kind>+<8 hex>), which no task id can be', async (t) => {
  for (const ok of ['box', 'box+cp+0a1b2c3d', `${'x'.repeat(76)}+cp+ffffffff`]) t.equal(validateContainerId(ok), ok);
  for (const id of ['box+cp+0a1b2c3d', 'web-cp-0a1b2c3d+cp+00000000']) t.throws(() => validateId(id), { code: 'ERR_INVALID_ID' }, `no task id: ${id}`);
  const bad: unknown[] = ['a+b', 'box+cp+0A1B2C3D', 'box+cp+0a1b2c3', '+cp+0a1b2c3d', '../x+cp+0a1b2c3d', 'box+cp+0a1b2c3d+cp+0a1b2c3d', `${'x'.repeat(77)}+cp+ffffffff`, 'box+CP+0a1b2c3d', 42];
  for (const id of bad) t.throws(() => validateContainerId(id), { code: 'ERR_INVALID_ID' }, `refuses ${JSON.stringify(id)}`);
  t.throws(() => validateContainerId('a+b', 'task'), { message: /^invalid task id "a\+b"/ });
});
