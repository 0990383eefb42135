/**
 * The few HCS JSON documents this package reads or writes itself, with HCS's PascalCase field names
 * (they go on the wire unchanged). Configurations and most properties pass through as caller-owned
 * objects; only the fields the state machine needs are typed.
 */

/** A query for `getComputeSystems` (schema1 `ComputeSystemQuery`). */
export interface ComputeSystemQuery {
  /** Match these ids. */
  Ids?: string[];
  /** Match these names. */
  Names?: string[];
  /** Match these system types (`Container`, `VirtualMachine`). */
  Types?: string[];
  /** Match these owners. */
  Owners?: string[];
}

/** Properties of a compute system in the schema1 shape (`properties()`, `getComputeSystems()`). */
export interface ContainerProperties {
  /** The compute system id. */
  Id?: string;
  /** Its state (`Created`, `Running`, `Paused`, `Stopped` …). */
  State?: string;
  /** Its name. */
  Name?: string;
  /** `Container` or `VirtualMachine`. */
  SystemType?: string;
  /** `windows` or `linux`; older HCS leaves it empty for Windows containers. */
  RuntimeOSType?: string;
  /** The owner that created it. */
  Owner?: string;
  /** True once stopped. */
  Stopped?: boolean;
  /** How it stopped. */
  ExitType?: string;
  /** Anything else HCS returned (statistics, process list …). */
  [key: string]: unknown;
}

/** Properties in the schema2 shape (`propertiesV2()`). */
export interface PropertiesV2 {
  /** The compute system id. */
  Id?: string;
  /** `Container` or `VirtualMachine`. */
  SystemType?: string;
  /** `windows` or `linux`. */
  RuntimeOsType?: string;
  /** The owner. */
  Owner?: string;
  /** Anything else HCS returned (`Statistics`, `ProcessList`, `Memory` …). */
  [key: string]: unknown;
}

/** The status of a process (`HcsGetProcessProperties`). */
export interface ProcessStatus {
  /** The pid. */
  ProcessId?: number;
  /** True once it exited. */
  Exited?: boolean;
  /** Its exit code, meaningful when `Exited` and `LastWaitResult === 0`. */
  ExitCode?: number;
  /** The Win32 result of HCS's own wait on the process; non-zero means `ExitCode` is not trustworthy. */
  LastWaitResult?: number;
}

/** The `Operation` values of a process modify request. */
export const ModifyProcessConsoleSize = 'ConsoleSize';
/** Closes one of the process's stdio handles. */
export const CloseProcessHandle = 'CloseHandle';
/** The handle name of stdin in a `CloseHandle` request. */
export const STDInHandle = 'StdIn';

/** A process modify request (console resize, close stdin). */
export interface ProcessModifyRequest {
  /** `ConsoleSize` or `CloseHandle`. */
  Operation: string;
  /** For `ConsoleSize`. */
  ConsoleSize?: { Height: number; Width: number };
  /** For `CloseHandle`. */
  CloseHandle?: { Handle: string };
}
