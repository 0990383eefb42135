/** The only layer that calls libc (through koffi) or tunes the process. Every wrapper throws Node-shaped errors. */
export * from './arrayBufferSweeping.js';
export * from './errno.js';
export * from './files.js';
export * from './malloc.js';
export * from './native.js';
export * from './poll.js';
export * from './process.js';
export * from './socket.js';
export * from './spawn.js';
