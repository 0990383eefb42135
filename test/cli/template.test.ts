import t from 'tap';
import { formatList, listFormatParser, parseInspectFormat } from '../../src/cli/format.js';
import { parseTemplate, withMethods, type Json } from '../../src/cli/template.js';

const task: Json = {
  id: 'web', status: 'running', pid: 42, args: ['sh', '-c', 'echo a b'], exit: null, cpus: 1.5, big: 1e21, neg: -3,
  limits: { memory: 67108864, pids: null }, env: { B: '2', A: 'x y' }, empty: [], none: {}, tty: false, text: '', zero: 0,
};
const run = (source: string, data: Json = task): string => parseTemplate(source).execute(data);

t.test('text, dot, field chains, variables and literals', { timeout: 10_000 }, async (t) => {
  const cases: Array<[string, string]> = [
    ['plain text', 'plain text'],
    ['{{.id}}', 'web'],
    ['pid={{.pid}} {{.limits.memory}}', 'pid=42 67108864'],
    ['{{$.id}} {{$}}', `web ${run('{{.}}')}`],
    ['{{"a\\tb\\n\\"q\\"\\\\ \\x41\\u00e9\\U0001F600\\101"}}', 'a\tb\n"q"\\ Aé😀A'],
    ['{{`raw \\t`}}', 'raw \\t'],
    ['{{1}} {{-2}} {{1.5}} {{true}} {{false}}', '1 -2 1.5 true false'],
    ['{{$x := .id}}{{$x}}-{{$x}}', 'web-web'],
    ['{{(index .args 0)}} {{(index .args 2) | len}}', 'sh 8'],
    ['{{$l := .limits}}{{$l.memory}}', '67108864'],
    ['{{with $e := .env}}{{$e.A}}{{end}}', 'x y'],
  ];
  for (const [source, want] of cases) t.equal(run(source), want, source);
});

t.test('printing as Go prints what docker decodes: raw strings, plain integers, <no value>, map[…] and […]', { timeout: 10_000 }, async (t) => {
  t.equal(run('{{.cpus}} {{.big}} {{.neg}} {{.tty}} {{.text}}|'), '1.5 1000000000000000000000 -3 false |', 'integers never get an exponent');
  t.equal(run('{{.exit}}'), '<no value>', 'a null prints <no value>');
  t.equal(run('{{.limits}}'), 'map[memory:67108864 pids:<nil>]', 'a null inside a map is <nil>');
  t.equal(run('{{.env}} {{.none}}'), 'map[A:x y B:2] map[]', 'map keys sorted');
  t.equal(run('{{.args}} {{.empty}}'), '[sh -c echo a b] []');
  t.equal(run('{{.}}', [1, 'a', null, [true]]), '[1 a <nil> [true]]');
});

t.test('json: one line, as docker\'s json function (no HTML escaping; U+2028 escaped as Go\'s encoder does)', { timeout: 10_000 }, async (t) => {
  t.equal(run('{{json .limits}}'), '{"memory":67108864,"pids":null}');
  t.equal(run('{{.args | json}}'), '["sh","-c","echo a b"]', 'as a pipe');
  t.equal(run('{{json .}}'), JSON.stringify(task), 'the whole value, keys in their order');
  t.equal(run('{{json .}}', { s: '<a&b>\u2028' }), '{"s":"<a&b>\\u2028"}');
  t.equal(run('{{json .exit}} {{json .id}}'), 'null "web"');
});

t.test('docker\'s functions and Go\'s builtins', { timeout: 10_000 }, async (t) => {
  const cases: Array<[string, string]> = [
    ['{{join .args " "}}', 'sh -c echo a b'],
    ['{{split "a,b,,c" ","}} {{len (split "héj" "")}}', '[a b  c] 3'],
    ['{{upper .id}} {{lower "ABC"}} {{title "hello wide-world_x élan"}}', 'WEB abc Hello Wide-World_x Élan'],
    ['[{{pad .id 2 1}}] [{{pad .text 2 1}}]', '[  web ] []'],
    ['{{truncate .id 2}} {{truncate "héllo" 2}} {{truncate .id 9}}', 'we hé web'],
    ['{{len .args}} {{len .env}} {{len "é"}} {{len .empty}}', '3 2 2 0'],
    ['{{index .args 1}} {{index .env "A"}} {{index .env "nope"}} {{index . "args" 0}}', '-c x y <no value> sh'],
    ['{{print 1 2 "a" "b" 3}}|{{println .id .pid}}|', '1 2ab3|web 42\n|'],
    ['{{eq .status "running"}} {{eq .pid 1 42}} {{ne .id "web"}} {{eq .exit nil}}', 'true true false true'],
    ['{{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}', 'true true true false'],
    ['{{not .text}} {{and .id .pid}} {{and .zero .pid}} {{or .text .id}}', 'true 42 0 web'],
    ['{{and .exit .exit.exitCode}}', '<no value>'],
  ];
  for (const [source, want] of cases) t.equal(run(source), want, source);
});

t.test('if / else if / else, with, range (arrays, maps by key, $i $e, else), trimming, comments', { timeout: 10_000 }, async (t) => {
  const cases: Array<[string, string]> = [
    ['{{if .exit}}exited{{else if eq .status "running"}}up{{else}}?{{end}}', 'up'],
    ['{{if .text}}a{{else}}b{{end}}{{if .empty}}c{{end}}{{if .none}}d{{end}}{{if .zero}}e{{end}}', 'b'],
    ['{{if $p := .pid}}{{$p}}{{end}}', '42'],
    ['{{with .limits}}{{.memory}}{{end}}{{with .exit}}x{{else}}none{{end}}', '67108864none'],
    ['{{range .args}}<{{.}}>{{end}}', '<sh><-c><echo a b>'],
    ['{{range $i, $a := .args}}{{$i}}={{$a}};{{end}}', '0=sh;1=-c;2=echo a b;'],
    ['{{range $k, $v := .env}}{{$k}}={{$v}} {{end}}', 'A=x y B=2 '],
    ['{{range $v := .env}}{{$v}},{{end}}', 'x y,2,'],
    ['{{range .empty}}x{{else}}empty{{end}} {{range .exit}}x{{else}}null{{end}}', 'empty null'],
    ['{{range .args}}{{$.id}}{{end}}', 'webwebweb'],
    ['a \n {{- .id -}} \n b', 'awebb'],
    ['{{.id}} {{- /* a comment */ -}} !', 'web!'],
    ['x{{/* c */}}y', 'xy'],
    ['{{-3}}', '-3'],
  ];
  for (const [source, want] of cases) t.equal(run(source), want, source);
});

t.test('parse errors: ERR_INVALID_ARG_VALUE naming the template, the place and what is wrong', { timeout: 10_000 }, async (t) => {
  const cases: Array<[string, string]> = [
    ['a {{.id', '1:3: unclosed action'],
    ['{{.id}', '1:1: unclosed action'],
    ['{{}}', '1:1: missing value for command'],
    ['{{bogus .id}}', '1:3: function "bogus" not defined'],
    ['x\n{{if .id}}', '2:1: missing {{end}} for {{if}}'],
    ['{{end}}', '1:1: unexpected {{end}}'],
    ['{{else}}', '1:1: unexpected {{else}}'],
    ['{{if 1}}{{else}}{{else}}{{end}}', '1:17: unexpected {{else}}'],
    ['{{range .x}}{{end .x}}', '1:19: unexpected .x in {{end}}'],
    ['{{if}}{{end}}', '1:1: missing value for if'],
    ['{{"abc}}', '1:3: unterminated quoted string'],
    ['{{"\\q"}}', '1:3: unknown escape sequence \\q in string'],
    ['{{/* x }}', '1:3: unclosed comment'],
    ['{{.id /* x */}}', '1:1: a comment must be alone in its action'],
    ['{{1x}}', '1:3: bad number syntax: "1x"'],
    ['{{.id @}}', '1:7: unexpected "@" in command'],
    ['{{.id-}}', '1:6: unexpected "-" in command'],
    ['{{$nope}}', '1:3: undefined variable "$nope"'],
    ['{{range $i, $e := .args}}{{end}}{{$e}}', '1:35: undefined variable "$e"'],
    ['{{$a, $b := .id}}', '1:10: too many declarations'],
    ['{{join .args}}', '1:3: wrong number of args for join: want 2 got 1'],
    ['{{index}}', '1:3: wrong number of args for index: want at least 1 got 0'],
    ['{{. .pid}}', '1:3: can\'t give argument to non-function .'],
    ['{{"a" | $}}', '1:9: can\'t give argument to non-function $'],
    ['{{.id |}}', '1:7: missing command'],
    ['{{(.id}}', '1:3: unclosed left paren'],
    ['{{.id)}}', '1:6: unexpected ")"'],
    ['{{nil}}', '1:3: nil is not a command'],
    ['{{template "x"}}', '1:1: {{template}} is not supported'],
  ];
  for (const [source, what] of cases) {
    t.throws(() => parseTemplate(source), { code: 'ERR_INVALID_ARG_VALUE', message: `template ${JSON.stringify(source)}: ${what}` }, source);
  }
  const long = `${'x'.repeat(80)}{{.id`;
  t.throws(() => parseTemplate(long), { message: `template "${'x'.repeat(59)}…": 1:81: unclosed action` }, 'a long template is cut in the message');
});

t.test('execution errors: a missing field is an error (docker\'s missingkey=error), naming the action', { timeout: 10_000 }, async (t) => {
  const cases: Array<[string, string]> = [
    ['{{.nope}}', '1:3: at <.nope>: map has no entry for key "nope"'],
    ['{{.limits.nope}}', '1:3: at <.limits.nope>: map has no entry for key "nope"'],
    ['{{.exit.exitCode}}', '1:3: at <.exit.exitCode>: nil pointer evaluating .exit.exitCode: .exit is null'],
    ['{{.id.x}}', '1:3: at <.id.x>: can\'t evaluate field x in type string'],
    ['{{(index .args 0).x}}', '1:3: at <(index .args 0).x>: can\'t evaluate field x in type string'],
    ['{{index .args 3}}', '1:3: at <index>: error calling index: index out of range: 3'],
    ['{{index .pid 0}}', '1:3: at <index>: error calling index: can\'t index item of type number'],
    ['{{upper .pid}}', '1:3: at <upper>: error calling upper: wrong type for value; expected string; got number'],
    ['{{join .limits ","}}', '1:3: at <join>: error calling join: wrong type for value; expected an array of strings; got object'],
    ['{{pad .id -1 0}}', '1:3: at <pad>: error calling pad: wrong type for value; expected a count (an integer ≥ 0); got number'],
    ['{{len .pid}}', '1:3: at <len>: error calling len: wrong type for value; expected a string, array or map; got number'],
    ['{{eq .id 1}}', '1:3: at <eq>: error calling eq: incompatible types for comparison: string and number'],
    ['{{eq .args 1}}', '1:3: at <eq>: error calling eq: non-comparable type array'],
    ['{{lt true false}}', '1:3: at <lt>: error calling lt: incompatible types for comparison: boolean and boolean'],
    ['{{range .pid}}{{end}}', '1:9: at <.pid>: range can\'t iterate over 42'],
    // A field may be a method, so this is known only once executed (Go's words for a map).
    ['{{.id .pid}}', '1:3: at <.id>: id is not a method but has arguments'],
    ['{{.id | .pid}}', '1:9: at <.pid>: pid is not a method but has arguments'],
  ];
  for (const [source, what] of cases) {
    const tpl = parseTemplate(source);
    t.throws(() => tpl.execute(task), { code: 'ERR_INVALID_ARG_VALUE', message: `template ${JSON.stringify(source)}: ${what}` }, source);
  }
  t.equal(parseTemplate('{{.a}}').execute({ a: 1 }), '1', 'parsed once, executed against each value');
});

t.test('methods of a value (docker\'s .Label "k"): called with the arguments, the piped one last; unseen by printing, range and json', { timeout: 10_000 }, async (t) => {
  const labels: Record<string, string> = { job: '7', 'a.b': 'x' };
  const row = (): Json => withMethods({ ID: 'web', inner: withMethods({}, { Twice: (s) => `${s}${s}` }) }, {
    Label: (key) => {
      if (typeof key !== 'string') throw new Error('wrong type for value; expected string; got number');
      return labels[key] ?? '';
    },
    Name: () => 'web-name',
  });
  t.equal(run('{{.ID}} {{.Label "job"}} {{.Label "a.b"}} [{{.Label "none"}}]', row()), 'web 7 x []');
  t.equal(run('{{"job" | .Label}} {{.Name}} {{.inner.Twice "ab"}} {{$.Label "job"}}', row()), '7 web-name abab 7', 'piped, none, along a chain, from $');
  t.equal(run('{{if eq (.Label "job") "7"}}seven{{end}} {{upper (.Label "a.b")}}', row()), 'seven X', 'in a parenthesised pipeline');
  t.equal(run('{{json .}} {{len .}} {{range $k, $v := .}}{{$k}} {{end}}{{.}}', row()), '{"ID":"web","inner":{}} 2 ID inner map[ID:web inner:map[]]', 'not a field');
  const cases: Array<[string, string]> = [
    ['{{.Label}}', '1:3: at <.Label>: wrong number of args for Label: want 1 got 0'],
    ['{{.Label "a" "b"}}', '1:3: at <.Label>: wrong number of args for Label: want 1 got 2'],
    ['{{.Label 1}}', '1:3: at <.Label>: error calling Label: wrong type for value; expected string; got number'],
    ['{{.Name "x"}}', '1:3: at <.Name>: wrong number of args for Name: want 0 got 1'],
    ['{{.Nope "x"}}', '1:3: at <.Nope>: map has no entry for key "Nope"'],
  ];
  for (const [source, what] of cases) {
    t.throws(() => parseTemplate(source).execute(row()), { code: 'ERR_INVALID_ARG_VALUE', message: `template ${JSON.stringify(source)}: ${what}` }, source);
  }
});

t.test('a table header: the template against the column names, docker\'s header functions, errors keep what came first', { timeout: 10_000 }, async (t) => {
  const columns = { ID: 'ID', Names: 'NAMES', RunningFor: 'CREATED' };
  const header = (s: string): string => parseTemplate(s).execute(columns, { header: true });
  t.equal(header('{{.ID}}\t{{upper .Names}}\t{{json .RunningFor}} {{truncate .ID 1}} {{pad .ID 1 1}}'), 'ID\tNAMES\tCREATED ID  ID ');
  t.equal(header('{{.ID}} {{.Nope}} after'), 'ID ', 'an error ends the header there, as docker ignores it');
});

t.test('ps --format values: json, table, table TEMPLATE, TEMPLATE; \\t typed; checked against the fields', { timeout: 10_000 }, async (t) => {
  const columns = { ID: 'ID', RunningFor: 'CREATED', Status: 'STATUS' };
  const parse = listFormatParser(columns, 'table {{.ID}}\t{{.Status}}');
  const rows = [{ ID: 'a', RunningFor: '1 second ago', Status: 'Up 1 second' }, { ID: 'longer-id', RunningFor: '2 hours ago', Status: 'Exited (0)' }];
  t.equal(parse('json'), 'json');
  const table = parse('table');
  t.not(table, 'json');
  if (table === 'json') return;
  t.equal(formatList(table, columns, rows), 'ID          STATUS\na           Up 1 second\nlonger-id   Exited (0)\n', '`table` is the verb\'s own table');
  const custom = parse('table {{.RunningFor}}\\t{{.ID}}  ');
  if (custom === 'json') return;
  t.equal(formatList(custom, columns, rows), 'CREATED        ID\n1 second ago   a\n2 hours ago    longer-id\n', 'a typed \\t is a tab; the header from the column names');
  t.equal(formatList(custom, columns, []), 'CREATED   ID\n', 'the header even with no rows');
  const lines = parse('{{.ID}}\\t{{.Status}}\\n--');
  if (lines === 'json') return;
  t.equal(formatList(lines, columns, rows), 'a\tUp 1 second\n--\nlonger-id\tExited (0)\n--\n', 'no table: one run per item, each followed by a newline');
  t.throws(() => parse('{{.Names}}'), { code: 'ERR_INVALID_ARG_VALUE', message: 'template "{{.Names}}": 1:3: at <.Names>: map has no entry for key "Names" (the fields are .ID .RunningFor .Status)' });
  t.throws(() => parse('table {{.ID'), { message: 'template "{{.ID": 1:1: unclosed action' });
});

t.test('inspect --format values: json, a template taken as typed, empty is none', { timeout: 10_000 }, async (t) => {
  t.equal(parseInspectFormat('json'), 'json');
  t.equal(parseInspectFormat(''), undefined);
  const tpl = parseInspectFormat('{{.id}}\\t{{.pid}}');
  t.equal(typeof tpl === 'object' ? tpl.execute(task) : tpl, 'web\\t42', '\\t stays two characters, as in docker inspect');
  t.throws(() => parseInspectFormat('{{.id'), { code: 'ERR_INVALID_ARG_VALUE', message: 'template "{{.id": 1:1: unclosed action' });
});
