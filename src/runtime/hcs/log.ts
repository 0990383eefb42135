export { silentLogger, type LogSink } from '../../log.js';
