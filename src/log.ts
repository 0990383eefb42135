import { pino, type Logger } from 'pino';

/** The package's own structured log: silent unless a caller passes a logger in the options. */
export const silentLogger: Logger = pino({ level: 'silent' });

export type { Logger };
