#!/usr/bin/env node
import { installFatalHandlers, main } from './command.js';
import { verbs } from './verbs.js';

/**
 * The `taskio` command: docker/podman verbs over the taskio daemon (see `verbs.ts` for the table).
 * No top-level await: the installed command runs this bundled as CommonJS (scripts/bundleCli.mjs).
 */
installFatalHandlers();
void main(process.argv.slice(2), verbs).then((code) => { process.exitCode = code; });
