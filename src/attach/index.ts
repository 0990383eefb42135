/** The client factories: containerd's `cio` for Node. */
export { newAttach, newCreator } from './creator.js';
export { load, nullIO, StaticIO } from './nullIO.js';
export { kNonRetaining, nonRetaining } from './nonRetaining.js';
export { PipeIO } from './pipeIO.js';
export { Pump, type PumpOptions } from './pump.js';
export {
  type Attach, type Creator, type IO, type Opt, type Streams,
  defaultFIFODir, withCoalescing, withFIFODir, withStdinClose, withStdio, withStreams, withTerminal,
} from './streams.js';
