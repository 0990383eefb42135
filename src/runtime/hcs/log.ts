export { silentLogger } from '../../log.js';
