import path from 'node:path';
import { connectDaemon, type DaemonClient } from '../daemon/client.js';
import { defaultDaemonRoot } from '../daemon/layout.js';
import type { VerbContext } from './verb.js';

/**
 * The daemon client of a verb: the state root is `$TASKIO_ROOT` of the command's environment, or
 * the default root; a daemon is started there when none answers. Close it when the verb is done.
 */
export function connect(ctx: Pick<VerbContext, 'env'>): Promise<DaemonClient> {
  const root = ctx.env['TASKIO_ROOT'];
  return connectDaemon(root ? path.resolve(root) : defaultDaemonRoot());
}

/** Runs `fn` with a client of the daemon, and closes the client afterwards. */
export async function withDaemon<T>(ctx: Pick<VerbContext, 'env'>, fn: (client: DaemonClient) => Promise<T>): Promise<T> {
  const client = await connect(ctx);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
