/** A `label` filter of `ps`, `events` and `prune`: a label's key (`label=KEY`), or key and value (`label=KEY=VALUE`). */
export interface LabelFilter {
  key: 'label';
  label: string;
  value?: string;
}

/**
 * Reads the value of a `label=` filter; `bad` makes the error that names the whole filter.
 * @throws what `bad` returns, for an empty value or one that starts with `=`.
 */
export function parseLabelFilter(v: string, bad: (why: string) => Error): LabelFilter {
  const at = v.indexOf('=');
  if (v === '' || at === 0) throw bad('expected label=KEY or label=KEY=VALUE');
  return at < 0 ? { key: 'label', label: v } : { key: 'label', label: v.slice(0, at), value: v.slice(at + 1) };
}

/** Whether `labels` has the filter's key (with its value, when one is given). */
export function hasLabel(labels: Readonly<Record<string, string>> | undefined, f: LabelFilter): boolean {
  return labels !== undefined && Object.hasOwn(labels, f.label) && (f.value === undefined || labels[f.label] === f.value);
}
