import { checkFIFOSet, type FIFOSet, newFIFOSetInDir, validateId } from '../fifo/index.js';
import { copyIO } from './pipeIO.js';
import { applyOpts, defaultFIFODir, type Attach, type Creator, type IO, type Opt } from './streams.js';

/**
 * Returns a {@link Creator}: for each task id it makes a fresh FIFO set in the FIFO directory and
 * copies between it and the given streams. A stream not given gets a blank path; terminal mode has
 * no stderr. If anything fails, nothing is left behind.
 */
export function newCreator(...opts: Opt[]): Creator {
  const streams = applyOpts(opts);
  return async (id: string): Promise<IO> => {
    validateId(id);
    const terminal = streams.terminal === true;
    const made = await newFIFOSetInDir(streams.fifoDir ?? defaultFIFODir(), id, terminal);
    try {
      return copyIO(made, streams, terminal);
    } catch (err) {
      await made.close();
      throw err;
    }
  };
}

/**
 * Returns an {@link Attach}: it reattaches the given streams to a task's existing FIFO set, for a
 * client that restarted. Terminal mode comes from the set. A second attach to a set that is still
 * attached fails with `EBUSY`.
 */
export function newAttach(...opts: Opt[]): Attach {
  const streams = applyOpts(opts);
  return async (set: FIFOSet): Promise<IO> => {
    checkFIFOSet(set, 'newAttach');
    return copyIO(set, streams, set.config.terminal);
  };
}
