/** FIFO primitives: non-blocking opens, FIFO sets and the single-reader lock. */
export { type Config, validateId } from './config.js';
export { FIFOSet, newFIFOSet, newFIFOSetInDir } from './fifoSet.js';
export { ReaderLock } from './lock.js';
export {
  type FifoMode, type FifoStream, type OpenFifoOptions, FifoWriter,
  describeFileType, isFifo, openFifo, openFifoFd, openFifoWriterFd, pipeSize,
} from './openFifo.js';
