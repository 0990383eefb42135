// Bundles the built command (dist/cli/main.js and what it imports) into one CommonJS file,
// dist/cli/taskio.cjs, which bin/taskio runs. Why: every `taskio` command is a fresh Node process,
// and Node's ES module loader costs ~4 ms to start plus a resolve, read and link per module (about
// 25 for `run`); one CommonJS file whose modules are initialised only when a verb needs them starts
// about 12 ms sooner. The daemon (`taskio daemon`, about 150 modules) is a bundle of its own,
// dist/daemon/daemon.cjs, which its verb loads: inside the command's bundle it would make every
// other verb parse 1.2 MB it never runs (+50 ms CPU a command, measured), and loaded from dist as ES
// modules it cost 0.18 CPU-s more at each daemon start (0.66 against 0.48 CPU-s for a daemon and
// its exit recorder to start, answer and stop, 6 December 2026) — a daemon the first command starts
// answers that much sooner. The native packages stay outside both. `import.meta.url` in a bundled
// module is rewritten to that module's own file in dist, so the paths it builds (criLogger.js beside
// its launcher, koffi's require) stay the same.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const cliOut = path.join(dist, 'cli', 'taskio.cjs');
const daemonEntry = path.join(dist, 'daemon', 'daemon.js');
const daemonOut = path.join(dist, 'daemon', 'daemon.cjs');

// Defined at the bundle's top, where `require` is CommonJS's own (a module may name a `require` of its own).
const fileUrl = '__taskioFileUrl';
/**
 * esbuild turns each module's \`import fs from 'node:fs'\` into \`__toESM(require('node:fs'), 1)\`: a
 * fresh object with a getter for each of the module's exports, made again by every module that
 * imports it — 214 of them in the daemon's bundle (93 of \`node:fs\`), 23 ms of CPU at each daemon
 * start (a CPU profile, 6 December 2026). The object only reads through to the module, so one per
 * module serves all: the bundle's own \`__toESM\` is renamed ({@link esbuildToEsm}) and called once per
 * module and mode.
 */
const memoizedToEsm = `const __toESMMade = [new WeakMap(), new WeakMap()];
function __toESM(mod, isNodeMode) {
  if (mod === null || (typeof mod !== "object" && typeof mod !== "function")) return __toESMEach(mod, isNodeMode);
  const made = __toESMMade[isNodeMode ? 1 : 0];
  let ns = made.get(mod);
  if (ns === undefined) made.set(mod, ns = __toESMEach(mod, isNodeMode));
  return ns;
}`;
/** The definition of esbuild's own helper, renamed in each bundle. */
const esbuildToEsm = 'var __toESM = (mod, isNodeMode, target) =>';
const banner = `"use strict";\nconst ${fileUrl} = (rel) => require("node:url").pathToFileURL(require("node:path").join(__dirname, rel)).href;
${memoizedToEsm}`;

/** Rewrites `import.meta.url` of each module of dist to its own file, relative to `outfile`. */
const ownUrl = (outfile) => ({
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(dist + path.sep)) return undefined;
      const text = await fs.promises.readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = path.relative(path.dirname(outfile), args.path);
      return { contents: text.replaceAll('import.meta.url', `${fileUrl}(${JSON.stringify(rel)})`), loader: 'js' };
    });
  },
});

/**
 * The command's import of the daemon becomes a `require` of the daemon's bundle: an `import()` of it
 * would go through Node's ES module loader, which first lexes all of it for its exports (that took
 * the whole gain back, measured).
 */
const daemonOutside = {
  name: 'daemon-outside',
  setup(b) {
    const from = "await import('../daemon/daemon.js')";
    b.onLoad({ filter: /\/cli\/daemonVerb\.js$/ }, async (args) => {
      const text = await fs.promises.readFile(args.path, 'utf8');
      if (!text.includes(from)) throw new Error(`${args.path} no longer has ${from}: update scripts/bundleCli.mjs`);
      return { contents: text.replace(from, "require('../daemon/daemon.cjs')"), loader: 'js' };
    });
    b.onResolve({ filter: /\/daemon\/daemon\.cjs$/ }, () => ({ path: `./${path.relative(path.dirname(cliOut), daemonOut)}`, external: true }));
  },
};

/** One CommonJS bundle of `entry` (a module of dist) at `outfile`. */
function bundle(entry, outfile, plugins) {
  return build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['koffi', 'node-pty'],
    plugins: [ownUrl(outfile), ...plugins],
    logLevel: 'warning',
    legalComments: 'none',
    banner: { js: banner },
  });
}

await Promise.all([
  bundle(path.join(dist, 'cli', 'main.js'), cliOut, [daemonOutside]),
  bundle(daemonEntry, daemonOut, []),
]);
for (const out of [cliOut, daemonOut]) {
  const text = fs.readFileSync(out, 'utf8');
  if (text.split(esbuildToEsm).length !== 2) throw new Error(`${out}: esbuild's __toESM is no longer \`${esbuildToEsm}\`: update scripts/bundleCli.mjs`);
  fs.writeFileSync(out, text.replace(esbuildToEsm, 'var __toESMEach = (mod, isNodeMode, target) =>'));
}
