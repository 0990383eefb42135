/** DirectIO: a FIFO set as Node streams. */
export { DirectIO, newDirectIO } from './directIO.js';
export { OutputReader } from './outputReader.js';
