import { TaskioError } from '../errors.js';
import { ellipsis } from './table.js';

/**
 * The part of Go's text/template that docker's `--format` users type, over plain JSON values: text,
 * `{{.}}`, field chains (`.a.b`, `$v.a`, `(index .x 0).a`), literals, pipes, variables,
 * `if`/`else if`/`else`, `range` (`$i, $e :=`), `with`, `{{-`/`-}}` trimming, comments, and the
 * functions of docker's `templates` package (json split join title lower upper pad truncate) plus the
 * Go builtins used with them (len index print println eq ne lt le gt ge not and or), and methods a
 * value is given ({@link withMethods}: docker's `{{.Label "key"}}` of a `ps` row). A template is
 * parsed once — every mistake that shows without data is refused then — and executed against each
 * value, which prints as Go prints what docker decodes from the API's JSON.
 */

/** A JSON value, what a template is executed against. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * A method of a value, as Go calls one of docker's row structs (`{{.Label "key"}}`): the command's
 * arguments in (as many as it declares), a value out; an Error it throws says what is wrong.
 */
export type Method = (...args: Json[]) => Json;
const methodsKey = Symbol('template methods');

/**
 * `value` with `methods` a template reaches as fields (`.Label "k"`, `"k" | .Label`) where the
 * value has no field of that name. They are kept out of sight of printing, `range`, `len` and
 * `json`, as a Go struct's methods are.
 */
export function withMethods<T extends { [key: string]: Json }>(value: T, methods: Readonly<Record<string, Method>>): T {
  return Object.defineProperty(value, methodsKey, { value: methods, enumerable: false });
}

function methodOf(value: { [key: string]: Json }, name: string): Method | undefined {
  const methods = (value as { [methodsKey]?: Readonly<Record<string, Method>> })[methodsKey];
  return methods && Object.hasOwn(methods, name) ? methods[name] : undefined;
}

type Operand = { src: string; pos: number } & (
  | { k: 'field'; base: string | null; path: string[] } // base: null for dot, else a variable's name
  | { k: 'lit'; value: Json }
  | { k: 'fn'; name: string }
  | { k: 'sub'; pipe: Pipe; path: string[] }); // `(pipeline).a.b`
interface Pipe { decl: string[]; cmds: Operand[][] }
type Node = string | { k: 'action'; pipe: Pipe } | { k: string; pipe: Pipe; body: Node[]; else: Node[] };
interface Token { t: string; v: string; pos: number; spaced: boolean }
interface Action { tokens: Token[]; pos: number }
/** A function: how many arguments it takes, and its code, given them unevaluated (so `and`/`or` stop early). */
interface Fn { min: number; max?: number; call(args: Array<() => Json>): Json }

const kind = (v: Json): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v);
function want<T extends Json>(v: Json | undefined, what: string, ok: (v: Json) => boolean): T {
  if (!ok(v!)) throw new Error(`wrong type for value; expected ${what}; got ${kind(v!)}`);
  return v as T;
}
const str = (v: Json | undefined): string => want(v, 'string', (x) => typeof x === 'string');
/** A string argument of a function or {@link Method}, or Go's error for another type. */
export const stringArg = str;
const count = (v: Json | undefined): number => want(v, 'a count (an integer ≥ 0)', (x) => Number.isInteger(x) && (x as number) >= 0);

/** Go's `fmt` `%v` of a decoded JSON value; `null` inside an array or map is `<nil>`, map keys sorted. */
function show(v: Json, top = false): string {
  if (v === null) return top ? '<no value>' : '<nil>';
  // docker decodes numbers as json.Number, which prints the JSON text: an integer gets no exponent.
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v).toString() : String(v);
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `[${v.map((e) => show(e)).join(' ')}]`;
  return `map[${Object.keys(v).sort().map((k) => `${k}:${show(v[k]!)}`).join(' ')}]`;
}

/** Go's truth: false, 0, null, and empty strings, arrays and maps are false. */
const truth = (v: Json): boolean => (v !== null && typeof v === 'object' ? Object.keys(v).length > 0 : v !== null && v !== 0 && v !== false && v !== '');

/** Go's `eq`/`lt` on JSON: values of one basic kind; `null` equals only `null`. */
function compare(a: Json, b: Json, order: boolean): number {
  for (const v of [a, b]) if (v !== null && typeof v === 'object') throw new Error(`non-comparable type ${kind(v)}`);
  if (order ? a === null || typeof a === 'boolean' || typeof a !== typeof b : a !== null && b !== null && typeof a !== typeof b) {
    throw new Error(`incompatible types for comparison: ${kind(a)} and ${kind(b)}`);
  }
  return a === b ? 0 : a! < b! ? -1 : 1;
}

const eager = (min: number, max: number | undefined, call: (a: Json[]) => Json): Fn => ({ min, max, call: (a) => call(a.map((f) => f())) });
const order = (test: (c: number) => boolean): Fn => eager(2, 2, ([a, b]) => test(compare(a!, b!, true)));
const functions: Record<string, Fn> = {
  // docker's json: Go's encoder without HTML escaping, which still escapes U+2028 and U+2029.
  json: eager(1, 1, ([v]) => JSON.stringify(v).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)),
  split: eager(2, 2, ([s, sep]) => (str(sep) === '' ? [...str(s)] : str(s).split(sep as string))),
  join: eager(2, 2, ([l, sep]) => want<string[]>(l, 'an array of strings', (x) => Array.isArray(x) && x.every((e) => typeof e === 'string')).join(str(sep))),
  // Go's strings.Title: a letter after a separator (an ASCII non-word character, or a space) is upper-cased.
  title: eager(1, 1, ([s]) => str(s).replace(/(?<![\w]|[^\x00-\x7f\s])./gsu, (c) => c.toUpperCase())),
  lower: eager(1, 1, ([s]) => str(s).toLowerCase()),
  upper: eager(1, 1, ([s]) => str(s).toUpperCase()),
  pad: eager(3, 3, ([s, l, r]) => (str(s) === '' ? '' : ' '.repeat(count(l)) + (s as string) + ' '.repeat(count(r)))),
  // By characters, where docker's cuts bytes (and can cut one in two).
  truncate: eager(2, 2, ([s, n]) => [...str(s)].slice(0, count(n)).join('')),
  // Go counts a string's bytes.
  len: eager(1, 1, ([v]) => (typeof v === 'string' ? Buffer.byteLength(v) : Object.keys(want(v, 'a string, array or map', (x) => typeof x === 'object' && x !== null)).length)),
  index: eager(1, undefined, ([item, ...keys]) => keys.reduce<Json>((v, key) => {
    if (Array.isArray(v)) {
      if (!Number.isInteger(key) || (key as number) < 0 || (key as number) >= v.length) throw new Error(`index out of range: ${show(key)}`);
      return v[key as number]!;
    }
    if (v !== null && typeof v === 'object') return v[str(key)] ?? null; // Go gives a missing key's zero value
    throw new Error(`can't index item of type ${kind(v)}`);
  }, item!)),
  // Go's Sprint: a space between two operands when neither is a string.
  print: eager(0, undefined, (a) => a.map((v, i) => (i > 0 && typeof v !== 'string' && typeof a[i - 1] !== 'string' ? ' ' : '') + show(v)).join('')),
  println: eager(0, undefined, (a) => `${a.map((v) => show(v)).join(' ')}\n`),
  eq: eager(2, undefined, ([a, ...bs]) => bs.some((b) => compare(a!, b, false) === 0)),
  ne: eager(2, 2, ([a, b]) => compare(a!, b!, false) !== 0),
  lt: order((c) => c < 0), le: order((c) => c <= 0), gt: order((c) => c > 0), ge: order((c) => c >= 0),
  not: eager(1, 1, ([v]) => !truth(v!)),
  // Short-circuit as Go's (1.18+): `and .exit .exit.exitCode` is safe on a running task.
  and: { min: 1, call: (a) => a.reduce<Json>((v, f, i) => (i > 0 && !truth(v) ? v : f()), null) },
  or: { min: 1, call: (a) => a.reduce<Json>((v, f, i) => (i > 0 && truth(v) ? v : f()), null) },
};

/** docker's `HeaderFunctions`: in a table's header row these give back the column name they get. */
const headerFunctions = new Set(['json', 'split', 'join', 'title', 'lower', 'upper', 'truncate']);
const escapes: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
/** An action's tokens, after spaces: 2 the close, 3 a comment, 4 a string, 5 a number, 6 a name or punctuation. */
const tokenRe = /(\s*)(?:(-?\}\})|(\/\*[\s\S]*?\*\/)|("(?:[^"\\\n]|\\.)*"|`[^`]*`)|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))|(\.[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*|\$\w*(?:\.[A-Za-z_]\w*)*|[A-Za-z_]\w*|:=|[.|(),]))/y;

/** A parsed template; {@link Template.execute} runs it against a value. */
export class Template {
  readonly source: string;
  readonly #nodes: Node[];

  /** @throws TaskioError `ERR_INVALID_ARG_VALUE` naming the template, the place (line:column), and what is wrong. */
  constructor(source: string) {
    this.source = source;
    this.#nodes = new Parser(source, (pos, what) => this.#error(pos, what)).parse();
  }

  /**
   * The text of the template run against `data`. A missing field is an error, as in docker (`inspect`
   * executes against the JSON with `missingkey=error`, `ps` against a struct); a `null` prints
   * `<no value>`. `header`: a table's header row, run against the column names with docker's header
   * functions, keeping what was printed before an error (docker ignores the header's errors).
   * @throws TaskioError `ERR_INVALID_ARG_VALUE` naming the template, the place and action, and what is wrong.
   */
  execute(data: Json, options: { header?: boolean } = {}): string {
    const out: string[] = [];
    try {
      new Executor(data, out, options.header === true, (pos, src, what) => this.#error(pos, `at <${src}>: ${what}`)).nodes(this.#nodes, data);
    } catch (err) {
      if (!options.header) throw err;
    }
    return out.join('');
  }

  #error(pos: number, what: string): TaskioError {
    const lines = this.source.slice(0, pos).split('\n');
    return new TaskioError('ERR_INVALID_ARG_VALUE', `template ${JSON.stringify(ellipsis(this.source, 60))}: ${lines.length}:${lines.at(-1)!.length + 1}: ${what}`);
  }
}

/** Parses `source` once (see {@link Template}). */
export function parseTemplate(source: string): Template {
  return new Template(source);
}

/** Lexes text and actions, trims around `{{-`/`-}}`, and builds the tree, checking names, variables and counts. */
class Parser {
  #items: Array<string | Action> = [];
  #at = 0;
  #vars = ['$'];

  constructor(readonly src: string, readonly fail: (pos: number, what: string) => TaskioError) {}

  parse(): Node[] {
    this.#lex();
    const [nodes, end] = this.#list();
    if (end) throw this.fail(end.pos, `unexpected {{${end.tokens[0]!.v}}}`);
    return nodes;
  }

  #lex(): void {
    const s = this.src;
    let i = 0, trimNext = false;
    for (;;) {
      const open = s.indexOf('{{', i);
      const trimPrev = open >= 0 && /^-[ \t\r\n]/.test(s.slice(open + 2, open + 4));
      let text = s.slice(i, open < 0 ? undefined : open);
      if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
      if (trimPrev) text = text.replace(/[ \t\r\n]+$/, '');
      if (text) this.#items.push(text);
      if (open < 0) return;
      const tokens: Token[] = [];
      tokenRe.lastIndex = open + (trimPrev ? 4 : 2);
      for (;;) {
        const at = tokenRe.lastIndex;
        const m = tokenRe.exec(s);
        if (!m) throw this.#lexError(at, open);
        const spaced = m[1]!.length > 0, pos = at + m[1]!.length, v = m[0].slice(m[1]!.length);
        if (m[2] && (spaced || v[0] !== '-')) { trimNext = v[0] === '-'; break; }
        const name = m[6] ?? '';
        const t = m[2] ? '-' : m[3] ? 'comment' : m[4] ? 'string' : m[5] ? 'number' : /^\.\w/.test(name) ? 'field' : name[0] === '$' ? 'var' : /^\w/.test(name) ? 'ident' : name;
        if (t === '-') throw this.fail(pos, 'unexpected "-" in command');
        tokens.push({ t, v, pos, spaced });
      }
      i = tokenRe.lastIndex;
      if (tokens.length === 0) throw this.fail(open, 'missing value for command');
      if (tokens.some((t) => t.t === 'comment')) {
        if (tokens.length > 1) throw this.fail(open, 'a comment must be alone in its action');
      } else this.#items.push({ tokens, pos: open });
    }
  }

  /** Why no token starts at `at`, in Go's words. */
  #lexError(at: number, open: number): TaskioError {
    const rest = this.src.slice(at).replace(/^\s+/, ''), pos = this.src.length - rest.length;
    if (rest === '' || rest.startsWith('}')) return this.fail(open, 'unclosed action');
    if (rest.startsWith('/*')) return this.fail(pos, 'unclosed comment');
    if (/^["`]/.test(rest)) return this.fail(pos, 'unterminated quoted string');
    if (/^[-+]?\.?\d/.test(rest)) return this.fail(pos, `bad number syntax: ${JSON.stringify(/^[-+.\w]+/.exec(rest)![0])}`);
    return this.fail(pos, `unexpected ${JSON.stringify(String.fromCodePoint(rest.codePointAt(0)!))} in command`);
  }

  /** Nodes up to an `{{else}}` or `{{end}}` (returned too), or to the end of the template. */
  #list(): [Node[], Action | undefined] {
    const nodes: Node[] = [];
    while (this.#at < this.#items.length) {
      const item = this.#items[this.#at++]!;
      if (typeof item === 'string') { nodes.push(item); continue; }
      const word = item.tokens[0]!.v;
      if (word === 'else' || word === 'end') return [nodes, item];
      nodes.push(this.#action(item, word));
    }
    return [nodes, undefined];
  }

  #action(item: Action, word: string): Node {
    if (['template', 'define', 'block', 'break', 'continue'].includes(word)) throw this.fail(item.pos, `{{${word}}} is not supported`);
    const control = word === 'if' || word === 'with' || word === 'range';
    const scope = this.#vars.length;
    const pipe = this.#pipe(item.tokens, control ? 1 : 0, item.pos, word === 'range' ? 2 : 1);
    if (pipe.cmds.length === 0) throw this.fail(item.pos, `missing value for ${control ? word : 'command'}`);
    this.#vars.push(...pipe.decl); // a variable lives to the {{end}} of the control it is declared in
    if (!control) return { k: 'action', pipe };
    const [body, end] = this.#list();
    if (word === 'range') this.#vars.length = scope; // not set in a range's else
    let otherwise: Node[] = [];
    const chained = end?.tokens[1]?.v;
    if (end?.tokens[0]!.v === 'else' && (chained === 'if' || chained === 'with')) {
      // `{{else if …}}` is an if in the else branch that ends at this one's {{end}}.
      otherwise = [this.#action({ tokens: end.tokens.slice(1), pos: end.tokens[1]!.pos }, chained)];
    } else {
      let last = end;
      if (end?.tokens[0]!.v === 'else') [otherwise, last] = this.#list();
      if (!last || last.tokens[0]!.v !== 'end') throw this.fail(last?.pos ?? item.pos, last ? 'unexpected {{else}}' : `missing {{end}} for {{${word}}}`);
      for (const a of end === last ? [last] : [end!, last]) if (a.tokens.length > 1) throw this.fail(a.tokens[1]!.pos, `unexpected ${a.tokens[1]!.v} in {{${a.tokens[0]!.v}}}`);
    }
    this.#vars.length = scope;
    return { k: word, pipe, body, else: otherwise };
  }

  /** A pipeline from `tokens[i]`: `$a, $b :=` (at most `maxDecl`; none inside parentheses), then commands separated by `|`. */
  #pipe(tokens: Token[], i: number, pos: number, maxDecl = 0): Pipe & { end: number } {
    const decl: string[] = [];
    const declare = tokens.findIndex((t, k) => k >= i && t.t === ':=');
    if (maxDecl > 0 && declare >= 0) {
      for (let k = i; k < declare; k += 2) {
        if (tokens[k]!.t !== 'var' || tokens[k]!.v.includes('.') || ![',', ':='].includes(tokens[k + 1]!.t)) throw this.fail(tokens[k]!.pos, 'expected variables before :=');
        decl.push(tokens[k]!.v);
      }
      if (decl.length === 0 || decl.length > maxDecl) throw this.fail(tokens[declare]!.pos, decl.length ? 'too many declarations' : 'missing variable before :=');
      i = declare + 1;
    }
    const cmds: Operand[][] = [];
    for (let cmd: Operand[] = []; ; i++) {
      const t = tokens[i];
      if (t && t.t !== '|' && t.t !== ')') {
        if (t.t !== '(') { cmd.push(this.#operand(t)); continue; }
        const inner = this.#pipe(tokens, i + 1, t.pos);
        if (tokens[inner.end]?.t !== ')') throw this.fail(t.pos, 'unclosed left paren');
        const after = tokens[inner.end + 1];
        const path = after?.t === 'field' && !after.spaced ? after.v.slice(1).split('.') : [];
        i = inner.end + (path.length ? 1 : 0);
        cmd.push({ k: 'sub', pipe: inner, path, src: this.src.slice(t.pos, tokens[i]!.pos + tokens[i]!.v.length), pos: t.pos });
        continue;
      }
      if (cmd.length === 0 && (t || cmds.length > 0)) throw this.fail(t?.pos ?? tokens[i - 1]?.pos ?? pos, t?.t === '|' || cmds.length > 0 ? 'missing command' : 'missing value for command');
      if (cmd.length > 0) cmds.push(this.#check(cmd, cmds.length > 0));
      cmd = [];
      if (t?.t !== '|') break;
    }
    if (maxDecl > 0 && i < tokens.length) throw this.fail(tokens[i]!.pos, 'unexpected ")"');
    return { decl, cmds, end: i };
  }

  #operand(t: Token): Operand {
    const at = { src: t.v, pos: t.pos };
    if (t.t === '.' || t.t === 'field') return { k: 'field', base: null, path: t.v === '.' ? [] : t.v.slice(1).split('.'), ...at };
    if (t.t === 'var') {
      const [base, ...path] = t.v.split('.');
      if (!this.#vars.includes(base!)) throw this.fail(t.pos, `undefined variable "${base}"`);
      return { k: 'field', base: base!, path, ...at };
    }
    if (t.t === 'string') return { k: 'lit', value: t.v[0] === '`' ? t.v.slice(1, -1) : this.#unquote(t), ...at };
    if (t.t === 'number') return { k: 'lit', value: Number(t.v), ...at };
    if (['true', 'false', 'nil'].includes(t.v)) return { k: 'lit', value: t.v === 'nil' ? null : t.v === 'true', ...at };
    if (t.t !== 'ident') throw this.fail(t.pos, `unexpected ${JSON.stringify(t.v)} in command`);
    if (!Object.hasOwn(functions, t.v)) throw this.fail(t.pos, `function "${t.v}" not defined`);
    return { k: 'fn', name: t.v, ...at };
  }

  /** Go's escapes in a quoted string: `\t`, `\n`, `\"`, `\\`, `\x41`, `\u00e9`, `\U0001F600`, `\101` … */
  #unquote(t: Token): string {
    return t.v.slice(1, -1).replace(/\\(x[\da-fA-F]{2}|u[\da-fA-F]{4}|U[\da-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
      if (e.length > 1) return String.fromCodePoint(/^\d/.test(e) ? parseInt(e, 8) : parseInt(e.slice(1), 16));
      if (escapes[e] === undefined) throw this.fail(t.pos, `unknown escape sequence \\${e} in string`);
      return escapes[e];
    });
  }

  /** A command is a function and as many arguments as it takes (a piped value counts), or one operand. */
  #check(cmd: Operand[], piped: boolean): Operand[] {
    const [head, ...args] = cmd as [Operand, ...Operand[]];
    if (head.k !== 'fn') {
      // A field may be a method (known only once executed); a literal, `.` or a variable cannot.
      const callable = (head.k === 'field' || head.k === 'sub') && head.path.length > 0;
      if ((args.length > 0 || piped) && !callable) throw this.fail(head.pos, `can't give argument to non-function ${head.src}`);
      if (head.k === 'lit' && head.value === null) throw this.fail(head.pos, 'nil is not a command');
      return cmd;
    }
    const fn = functions[head.name]!, n = args.length + (piped ? 1 : 0);
    if (n < fn.min || n > (fn.max ?? n)) throw this.fail(head.pos, `wrong number of args for ${head.name}: want ${fn.max === fn.min ? '' : 'at least '}${fn.min} got ${n}`);
    for (const a of args) if (a.k === 'fn') this.#check([a], false); // a function as an argument is called with none
    return cmd;
  }
}

/** Runs a parsed tree against data, appending to `out`. */
class Executor {
  readonly #vars: Array<[string, Json]>;

  constructor(root: Json, readonly out: string[], readonly header: boolean, readonly fail: (pos: number, src: string, what: string) => TaskioError) {
    this.#vars = [['$', root]];
  }

  nodes(nodes: Node[], dot: Json): void {
    for (const n of nodes) {
      if (typeof n === 'string') { this.out.push(n); continue; }
      if (!('body' in n)) {
        const v = this.#pipe(n.pipe, dot);
        if (n.pipe.decl.length) this.#vars.push([n.pipe.decl[0]!, v]); // lives to the end of the enclosing control
        else this.out.push(show(v, true));
        continue;
      }
      const scope = this.#vars.length;
      const v = this.#pipe(n.pipe, dot);
      if (n.k === 'range') this.#range(n, v, dot);
      else {
        if (n.pipe.decl.length) this.#vars.push([n.pipe.decl[0]!, v]);
        this.nodes(truth(v) ? n.body : n.else, truth(v) && n.k === 'with' ? v : dot);
      }
      this.#vars.length = scope;
    }
  }

  /** Arrays in order, maps by sorted key (as Go); `null` runs the else branch; anything else is an error. */
  #range(n: { pipe: Pipe; body: Node[]; else: Node[] }, v: Json, dot: Json): void {
    if (v !== null && typeof v !== 'object') {
      const at = n.pipe.cmds.at(-1)![0]!;
      throw this.fail(at.pos, at.src, `range can't iterate over ${show(v)}`);
    }
    const entries: Array<[Json, Json]> = v === null ? [] : Array.isArray(v) ? v.map((e, i) => [i, e]) : Object.keys(v).sort().map((k) => [k, v[k]!]);
    if (entries.length === 0) this.nodes(n.else, dot);
    const scope = this.#vars.length;
    const [a, b] = n.pipe.decl;
    for (const [key, e] of entries) {
      if (b !== undefined) this.#vars.push([a!, key], [b, e]);
      else if (a !== undefined) this.#vars.push([a, e]);
      this.nodes(n.body, e);
      this.#vars.length = scope;
    }
  }

  #pipe(pipe: Pipe, dot: Json): Json {
    let piped: Json | undefined;
    for (const cmd of pipe.cmds) piped = this.#command(cmd, dot, piped);
    return piped!;
  }

  #command([head, ...args]: Operand[], dot: Json, piped?: Json): Json {
    if (head!.k !== 'fn') {
      if (args.length === 0 && piped === undefined) return this.#operand(head!, dot);
      // A method's arguments, the piped value last (the parser let only a field chain have any).
      return this.#operand(head!, dot, [...args.map((a) => this.#operand(a, dot)), ...(piped === undefined ? [] : [piped])]);
    }
    const thunks = [...args.map((a) => () => this.#operand(a, dot)), ...(piped === undefined ? [] : [() => piped])];
    try {
      return this.header && headerFunctions.has(head!.name) ? thunks[0]!() : functions[head!.name]!.call(thunks);
    } catch (err) {
      throw err instanceof TaskioError ? err : this.fail(head!.pos, head!.src, `error calling ${head!.name}: ${(err as Error).message}`);
    }
  }

  /** `args`: the arguments of a field chain that is a command with some (the method at its end gets them). */
  #operand(a: Operand, dot: Json, args?: Json[]): Json {
    if (a.k === 'lit') return a.value;
    if (a.k === 'fn') return this.#command([a], dot);
    if (a.k === 'sub') return this.#walk(this.#pipe(a.pipe, dot), a, a.src.slice(0, a.src.lastIndexOf(')') + 1), args);
    let i = this.#vars.length - 1;
    while (a.base !== null && this.#vars[i]![0] !== a.base) i--; // the innermost of that name
    return this.#walk(a.base === null ? dot : this.#vars[i]![1], a, a.base ?? '', args);
  }

  /**
   * Follows field names into maps; a missing key is an error (docker's `missingkey=error`). A name
   * the map lacks may be one of its methods: called with `args` at the end of the chain, with none
   * before it, as Go calls them.
   */
  #walk(v: Json, a: Operand & { path: string[] }, prefix: string, args?: Json[]): Json {
    for (const [i, name] of a.path.entries()) {
      const at = prefix + a.path.slice(0, i).map((p) => `.${p}`).join('');
      const given = i === a.path.length - 1 ? args : undefined;
      if (v === null) throw this.fail(a.pos, a.src, `nil pointer evaluating ${at}.${name}: ${at || '.'} is null`);
      if (typeof v !== 'object' || Array.isArray(v)) throw this.fail(a.pos, a.src, `can't evaluate field ${name} in type ${kind(v)}`);
      const method = Object.hasOwn(v, name) ? undefined : methodOf(v, name);
      if (method) { v = this.#call(method, name, given ?? [], a); continue; }
      if (!Object.hasOwn(v, name)) throw this.fail(a.pos, a.src, `map has no entry for key "${name}"`);
      if (given) throw this.fail(a.pos, a.src, `${name} is not a method but has arguments`);
      v = v[name]!;
    }
    return v;
  }

  #call(method: Method, name: string, args: Json[], a: Operand): Json {
    if (args.length !== method.length) throw this.fail(a.pos, a.src, `wrong number of args for ${name}: want ${method.length} got ${args.length}`);
    try {
      return method(...args);
    } catch (err) {
      throw this.fail(a.pos, a.src, `error calling ${name}: ${(err as Error).message}`);
    }
  }
}
