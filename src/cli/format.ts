import { TaskioError } from '../errors.js';
import { formatTable } from './table.js';
import { parseTemplate, withMethods, type Json, type Method, type Template } from './template.js';

/**
 * `inspect -f`/`--format`: `json` (the tasks as one line of JSON), or a Go template run against each
 * task's JSON. Taken as typed, as docker's `inspect` takes it: `\t` stays two characters (write
 * `{{"\t"}}` for a tab), where `ps --format` makes it a tab.
 */
export function parseInspectFormat(value: string): 'json' | Template | undefined {
  if (value === '') return undefined; // docker: an empty format is no format
  return value === 'json' ? value : parseTemplate(value);
}

/**
 * `--format` of a verb that lists things (`ps`), as docker's formatter reads it: `json`, or a Go
 * template whose rows are laid out as a table under a header row (`table …`) or printed one a line.
 */
export type ListFormat = 'json' | { template: Template; table: boolean };

/**
 * The `--format` parser of a list verb: `json`; `table` (the verb's own table, `defaultTable`);
 * `table TEMPLATE`; or `TEMPLATE`. As docker does, `\t` and `\n` typed as two characters become a
 * tab and a newline (a shell passes them as typed), and the template is run once against empty
 * fields before anything is listed, so a field the verb does not have is refused as a usage error.
 * @param columns - the fields a template sees, each with its column name: `{ RunningFor: 'CREATED' }`.
 * @param methods - the methods it sees beside them (`ps`'s `Label`), as they answer a row without data.
 * @throws TaskioError `ERR_INVALID_ARG_VALUE` naming the template and what is wrong (and the fields there are).
 */
export function listFormatParser(columns: Readonly<Record<string, string>>, defaultTable: string, methods: Readonly<Record<string, Method>> = {}): (value: string) => ListFormat {
  return (value) => {
    if (value === 'json') return 'json';
    const source = value === 'table' ? defaultTable : value;
    const table = source.startsWith('table');
    const text = (table ? source.slice('table'.length) : source).replace(/^ +| +$/g, '').replace(/\\([tn])/g, (_, c: string) => (c === 't' ? '\t' : '\n'));
    const template = parseTemplate(text);
    try {
      template.execute(withMethods(Object.fromEntries(Object.keys(columns).map((k) => [k, ''])), methods));
    } catch (err) {
      const fields = [...Object.keys(columns).map((k) => `.${k}`), ...Object.keys(methods).map((k) => `.${k} "…"`)].join(' ');
      throw new TaskioError('ERR_INVALID_ARG_VALUE', `${(err as Error).message} (the fields are ${fields})`, { cause: err });
    }
    return { template, table };
  };
}

/**
 * The items as a template format says: one line each, or for a table a header row (the template
 * run against the column names, as docker's) and the rows, aligned as docker's tables.
 */
export function formatList(format: Exclude<ListFormat, 'json'>, columns: Readonly<Record<string, string>>, items: readonly Json[]): string {
  const rows = items.map((item) => format.template.execute(item));
  if (!format.table) return rows.map((row) => `${row}\n`).join('');
  const [header, ...lines] = [format.template.execute(columns, { header: true }), ...rows].join('\n').split('\n').map((line) => line.split('\t'));
  return formatTable(header!, lines);
}
