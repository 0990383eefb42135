/** FIFO primitives: non-blocking opens, FIFO sets and the single-reader lock. */
export { type Config, checkPath, validateId } from './config.js';
export { FIFOSet, checkFIFOSet, newFIFOSet, newFIFOSetInDir } from './fifoSet.js';
export { ReaderLock } from './lock.js';
export {
  type FifoMode, type FifoStream, type OpenFifoOptions, FifoWriter,
  checkSignalOptions, describeFileType, isFifo, makeMissingFifos, openFifo, openFifoFd, openFifoWriterFd, openReaderFd, pipeSize, removeFifos,
} from './openFifo.js';
