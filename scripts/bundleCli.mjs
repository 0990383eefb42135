// Bundles the built command (dist/cli/main.js and what it imports) into one CommonJS file,
// dist/cli/taskio.cjs, which bin/taskio runs. Why: every `taskio` command is a fresh Node process,
// and Node's ES module loader costs ~4 ms to start plus a resolve, read and link per module (about
// 25 for `run`); one CommonJS file whose modules are initialised only when a verb needs them starts
// about 12 ms sooner. What stays outside: the daemon (`taskio daemon`, loaded from dist as ES modules
// by its verb: a long-running process has no start-up to save, and one copy of it is enough) and the
// native packages. `import.meta.url` in a bundled module is rewritten to that module's own file in
// dist, so the paths it builds (criLogger.js beside its launcher, koffi's require) stay the same.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const outfile = path.join(dist, 'cli', 'taskio.cjs');

// Defined at the bundle's top, where `require` is CommonJS's own (a module may name a `require` of its own).
const fileUrl = '__taskioFileUrl';
const banner = `"use strict";\nconst ${fileUrl} = (rel) => require("node:url").pathToFileURL(require("node:path").join(__dirname, rel)).href;`;

const ownUrl = {
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
};

const daemonOutside = {
  name: 'daemon-outside',
  setup(b) {
    b.onResolve({ filter: /\/daemon\/daemon\.js$/ }, (args) => {
      const target = path.resolve(args.resolveDir, args.path);
      return { path: `./${path.relative(path.dirname(outfile), target)}`, external: true };
    });
  },
};

await build({
  entryPoints: [path.join(dist, 'cli', 'main.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['koffi', 'node-pty'],
  plugins: [ownUrl, daemonOutside],
  logLevel: 'warning',
  legalComments: 'none',
  banner: { js: banner },
});
