/** DirectIO: a FIFO set as Node streams. */
export { DirectIO, newDirectIO } from './directIO.js';
