import { showValue, TaskioError } from '../../errors.js';

/**
 * Serialises a value into the JSON document an HCS call takes. `JSON.stringify` throws for some
 * values (a BigInt, a cycle) and returns `undefined` for others (`undefined`, a function): neither
 * may reach HCS, which would get no document at all.
 * @param what names the document in the error (`'modify request'`, `'signal options'` …).
 * @throws TaskioError `ERR_INVALID_ARG_VALUE` naming the document and why.
 */
export function stringifyDocument(value: unknown, what: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (e) {
    throw new TaskioError('ERR_INVALID_ARG_VALUE', `the ${what} cannot be written as JSON: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (json === undefined) throw new TaskioError('ERR_INVALID_ARG_VALUE', `the ${what} must be a JSON document, got ${showValue(value)}`);
  return json;
}
