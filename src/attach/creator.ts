import { checkFIFOSet, type FIFOSet, newFIFOSetInDir, validateId } from '../fifo/index.js';
import { copyIO } from './pipeIO.js';
import { applyOpts, checkStreamsOpen, defaultFIFODir, type Attach, type Creator, type IO, type Opt } from './streams.js';

/**
 * Returns a {@link Creator}: for each task id it makes a fresh FIFO set in the FIFO directory and
 * copies between it and the given streams. A stream not given gets a blank path; terminal mode has
 * no stderr. If anything fails, nothing is left behind. A stream destroyed since (an output also:
 * ended since) is refused at each call with `ERR_INVALID_ARG_VALUE`, before anything is made.
 */
export function newCreator(...opts: Opt[]): Creator {
  const streams = applyOpts(opts);
  return async (id: string): Promise<IO> => {
    validateId(id);
    checkStreamsOpen(streams); // a stream may have ended since the creator was made
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
 * attached fails with `EBUSY`; a stream destroyed since (an output also: ended since) is refused
 * with `ERR_INVALID_ARG_VALUE`.
 */
export function newAttach(...opts: Opt[]): Attach {
  const streams = applyOpts(opts);
  return async (set: FIFOSet): Promise<IO> => {
    checkFIFOSet(set, 'newAttach');
    checkStreamsOpen(streams);
    return copyIO(set, streams, set.config.terminal);
  };
}
