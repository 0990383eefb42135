#!/usr/bin/env node
import { installFatalHandlers, main } from './command.js';
import { verbs } from './verbs.js';

/** The `taskio` command: docker/podman verbs over the taskio daemon (see `verbs.ts` for the table). */
installFatalHandlers();
process.exitCode = await main(process.argv.slice(2), verbs);
