import { TaskioError } from '../errors.js';

/**
 * One flag of a verb, in docker's (pflag's) model: a long name, an optional one-letter short name,
 * and a kind — a boolean switch, a string value, or a list that each use appends to (`-e A -e B`).
 */
export interface FlagSpec {
  /** The long name, without dashes: `detach` for `--detach`. */
  name: string;
  /** The short name, one character: `d` for `-d`. */
  short?: string;
  /** Other long names of the flag, not shown by `--help` (docker's hidden `--net` for `--network`). */
  aliases?: string[];
  kind: 'bool' | 'string' | 'list';
  /** One line for `--help`. */
  description: string;
  /** What `--help` calls the value (`string`, `bytes`, `int`, `decimal`, `list`); the kind's name by default. */
  valueName?: string;
  /** The value when the flag is not given (parsed like a given one). */
  default?: string;
  /**
   * Checks and converts one value when it is read; throws a {@link TaskioError} whose message says
   * what is wrong (the parser adds which flag and value, as docker does). For a list flag,
   * `undefined` leaves the value out (`-e K` when `K` is not set here).
   */
  parse?: (value: string) => unknown;
}

/** A verb's command line: its flags, how many operands it takes, and its help text. */
export interface VerbSpec {
  /** The verb: `run`. */
  name: string;
  /** What follows `taskio <name>` in the usage line: `[OPTIONS] COMMAND [ARG...]`. */
  usage: string;
  /** One sentence for `--help` and the verb list. */
  summary: string;
  flags: FlagSpec[];
  /**
   * False for verbs whose operands are a command line of their own (`run`, `exec`, `top`): flags
   * stop at the first operand, so `taskio run sh -c 'ls -l'` gives `-c` to `sh`. Default true.
   */
  interspersed?: boolean;
  /**
   * How many operands: at least `min`, at most `max` (no limit when absent); `min` does not hold
   * when the flag named by `unlessGiven` is given (`run --entrypoint CMD`: the command is the flag's).
   */
  operands: { min: number; max?: number; unlessGiven?: string };
  /** Pairs of flags that cannot be given together: `[['rootfs', 'bundle']]`. */
  conflicts?: Array<[string, string]>;
}

/**
 * A command-line mistake: `code` is `ERR_USAGE` and `command` the command it concerns (`taskio
 * run`), so the message can point at `taskio run --help`. The command exits 125, as docker does.
 */
export class UsageError extends TaskioError {
  /** The command whose usage was wrong: `taskio run`, or `taskio` for the top level. */
  readonly command: string;

  constructor(command: string, message: string, options?: { cause?: unknown }) {
    super('ERR_USAGE', message, options);
    this.command = command;
  }
}

/** The flags and operands of one command line, as {@link parseFlags} read them. */
export class ParsedArgs {
  /** The operands, in order (everything after `--`, or after the first operand of a non-interspersed verb). */
  readonly operands: string[];
  /** True when `--help` (or `-h`, where the verb gives `-h` no other meaning) was given. */
  readonly help: boolean;
  readonly #values: Map<string, unknown>;
  readonly #given: Set<string>;

  constructor(values: Map<string, unknown>, given: Set<string>, operands: string[], help: boolean) {
    this.#values = values;
    this.#given = given;
    this.operands = operands;
    this.help = help;
  }

  /** Whether the flag was on the command line (docker's `Changed`), as opposed to defaulted. */
  given(name: string): boolean {
    return this.#given.has(name);
  }

  /** A boolean flag (false when not given). */
  bool(name: string): boolean {
    return this.#values.get(name) === true;
  }

  /** A string flag's value (parsed, if its spec parses), or its default, or `undefined`. */
  value<T = string>(name: string): T | undefined {
    return this.#values.get(name) as T | undefined;
  }

  /** A list flag's values in command-line order (parsed, if its spec parses); empty when not given. */
  list<T = string>(name: string): T[] {
    return (this.#values.get(name) as T[] | undefined) ?? [];
  }
}

/** How `--help` and error messages name a flag: `-m, --memory` or `--rm`, as pflag. */
export function flagTitle(flag: FlagSpec): string {
  return flag.short ? `-${flag.short}, --${flag.name}` : `--${flag.name}`;
}

/** Go's `strconv.ParseBool`, which pflag uses for `--rm=false`. */
function parseBool(value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new TaskioError('ERR_INVALID_ARG_VALUE', `strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
}

/**
 * Reads a verb's arguments the way docker's CLI (cobra + pflag) does: `--name=x` and `--name x`,
 * `-s SIG`, `-sSIG` and `-s=SIG`, combined short switches (`-it`, `-dit`, `-ie K=V`), repeated list
 * flags, `--` ending the flags, `-` as an operand, flags after operands unless the verb is not
 * interspersed, `--rm=false` for switches, and the last value winning for a repeated string flag.
 * Then it applies the defaults and checks conflicts and the operand count (skipped for `--help`).
 * @param command - how messages name the command: `taskio run`.
 * @throws UsageError with docker's wording: `unknown flag: --bogus`, `unknown shorthand flag: 'x' in -x`,
 *   `flag needs an argument: 'e' in -e`, `invalid argument "x" for "-m, --memory" flag: invalid size: 'x'`,
 *   `"taskio run" requires at least 1 argument.`
 */
export function parseFlags(spec: VerbSpec, argv: readonly string[], command = `taskio ${spec.name}`): ParsedArgs {
  const byName = new Map(spec.flags.flatMap((f) => [f.name, ...(f.aliases ?? [])].map((name) => [name, f] as const)));
  const byShort = new Map(spec.flags.filter((f) => f.short).map((f) => [f.short!, f]));
  const values = new Map<string, unknown>();
  const given = new Set<string>();
  const operands: string[] = [];
  let help = false;
  const fail = (message: string, cause?: unknown) => new UsageError(command, message, { cause });

  const set = (flag: FlagSpec, value: string): void => {
    let v: unknown;
    try {
      v = flag.kind === 'bool' ? parseBool(value) : flag.parse ? flag.parse(value) : value;
    } catch (err) {
      throw fail(`invalid argument ${JSON.stringify(value)} for ${JSON.stringify(flagTitle(flag))} flag: ${(err as Error).message}`, err);
    }
    given.add(flag.name);
    const list = (values.get(flag.name) as unknown[] | undefined) ?? [];
    if (flag.kind !== 'list') values.set(flag.name, v);
    else values.set(flag.name, v === undefined ? list : [...list, v]);
  };

  const args = [...argv];
  while (args.length > 0) {
    const arg = args.shift()!;
    if (arg.length < 2 || arg[0] !== '-') {
      operands.push(arg);
      if (spec.interspersed === false) operands.push(...args.splice(0));
      continue;
    }
    if (arg === '--') {
      operands.push(...args.splice(0));
      break;
    }
    if (arg[1] === '-') {
      const body = arg.slice(2);
      if (body[0] === '-' || body[0] === '=') throw fail(`bad flag syntax: ${arg}`);
      const eq = body.indexOf('=');
      const name = eq < 0 ? body : body.slice(0, eq);
      const flag = byName.get(name);
      if (!flag) {
        if (name === 'help') { help = true; continue; }
        throw fail(`unknown flag: --${name}`);
      }
      if (eq >= 0) set(flag, body.slice(eq + 1));
      else if (flag.kind === 'bool') set(flag, 'true');
      else if (args.length > 0) set(flag, args.shift()!);
      else throw fail(`flag needs an argument: ${arg}`);
      continue;
    }
    // A group of short flags: switches, then at most one flag that takes the rest (or the next argument).
    let shorts = arg.slice(1);
    while (shorts.length > 0) {
      const c = shorts[0]!;
      const flag = byShort.get(c);
      if (!flag) {
        if (c === 'h') { help = true; shorts = shorts.slice(1); continue; }
        throw fail(`unknown shorthand flag: '${c}' in -${shorts}`);
      }
      if (shorts.length > 2 && shorts[1] === '=') {
        set(flag, shorts.slice(2));
        shorts = '';
      } else if (flag.kind === 'bool') {
        set(flag, 'true');
        shorts = shorts.slice(1);
      } else if (shorts.length > 1) {
        set(flag, shorts.slice(1));
        shorts = '';
      } else if (args.length > 0) {
        set(flag, args.shift()!);
        shorts = '';
      } else {
        throw fail(`flag needs an argument: '${c}' in -${shorts}`);
      }
    }
  }

  for (const flag of spec.flags) {
    if (!values.has(flag.name) && flag.default !== undefined) {
      set(flag, flag.default);
      given.delete(flag.name);
    }
  }
  if (!help) {
    for (const [a, b] of spec.conflicts ?? []) {
      if (given.has(a) && given.has(b)) throw fail(`conflicting options: ${flagTitle(byName.get(a)!)} and ${flagTitle(byName.get(b)!)}`);
    }
    const { unlessGiven } = spec.operands;
    if (unlessGiven === undefined || !given.has(unlessGiven)) checkOperands(spec, operands.length, command, fail);
  }
  return new ParsedArgs(values, given, operands, help);
}

/** docker's (20.10) operand-count messages: `"taskio kill" requires at least 1 argument.` */
function checkOperands(spec: VerbSpec, n: number, command: string, fail: (m: string) => UsageError): void {
  const { min, max } = spec.operands;
  const quoted = JSON.stringify(command);
  const plural = (k: number) => (k === 1 ? 'argument' : 'arguments');
  if (max === 0 && n > 0) throw fail(`${quoted} accepts no arguments.`);
  if (min === max && n !== min) throw fail(`${quoted} requires exactly ${min} ${plural(min)}.`);
  if (n < min) throw fail(`${quoted} requires at least ${min} ${plural(min)}.`);
  if (max !== undefined && n > max) throw fail(`${quoted} requires at most ${max} ${plural(max)}.`);
}
