/**
 * taskio: the stdio of long-running tasks — FIFO sets, attach and reattach, task logs, and the
 * process side that hands a runsc/runc container or host process its stdio.
 * @packageDocumentation
 */
export { TaskioError, abortError } from './errors.js';
export type { SysError } from './sys/index.js';
export {
  type Config, type FifoMode, type FifoStream, type OpenFifoOptions,
  FIFOSet, FifoWriter, isFifo, newFIFOSet, newFIFOSetInDir, openFifo, pipeSize, validateId,
} from './fifo/index.js';
export {
  type Attach, type Creator, type IO, type Opt, type Streams,
  defaultFIFODir, kNonRetaining, load, newAttach, newCreator, nonRetaining, nullIO,
  withFIFODir, withStdio, withStreams, withTerminal,
} from './attach/index.js';
export { DirectIO, newDirectIO } from './direct/index.js';
export { binaryIO, logFile, logURI, logURIGenerator, terminalBinaryIO, terminalLogURI } from './logfile/uri.js';
