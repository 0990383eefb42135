/**
 * The notification types HCS delivers to a system or process callback, with hcsshim's (vmcompute)
 * numbering. The Windows transport maps computecore's `HCS_EVENT_TYPE` values and its operation
 * completions onto these, so the state machine above sees one vocabulary.
 */
export enum NotificationType {
  /** No notification (never delivered on purpose). */
  Invalid = 0x00000000,
  /** The compute system stopped; terminal for a system handle. */
  SystemExited = 0x00000001,
  /** A pending create finished. */
  SystemCreateCompleted = 0x00000002,
  /** A pending start finished. */
  SystemStartCompleted = 0x00000003,
  /** A pending pause finished. */
  SystemPauseCompleted = 0x00000004,
  /** A pending resume finished. */
  SystemResumeCompleted = 0x00000005,
  /** A crash report is available. */
  SystemCrashReport = 0x00000006,
  /** The silo's job object was created. */
  SystemSiloJobCreated = 0x00000007,
  /** A pending save finished. */
  SystemSaveCompleted = 0x00000008,
  /** The RDP enhanced-mode state changed. */
  SystemRdpEnhancedModeStateChanged = 0x00000009,
  /** A shutdown request failed. */
  SystemShutdownFailed = 0x0000000a,
  /** A pending property query finished. */
  SystemGetPropertiesCompleted = 0x0000000b,
  /** A pending modify finished. */
  SystemModifyCompleted = 0x0000000c,
  /** The guest began to crash. */
  SystemCrashInitiated = 0x0000000d,
  /** The connection to the guest closed. */
  SystemGuestConnectionClosed = 0x0000000e,
  /** The process exited; terminal for a process handle. */
  ProcessExited = 0x00010000,
  /** The compute service went away; every waiter on every handle fails. */
  ServiceDisconnect = 0x01000000,
}

/** The name of a notification type as hcsshim prints it (`Unknown: <n>` for a value it does not know). */
export function notificationName(type: number): string {
  return NotificationType[type] ?? `Unknown: ${type}`;
}

/** One notification as a transport delivers it. */
export interface Notification {
  /** What happened. */
  type: NotificationType;
  /** The HRESULT of the event; negative means the operation or exit failed. Absent means success. */
  status?: number;
  /** The JSON document HCS attached (a result with `ErrorEvents`, an exit status …). */
  data?: string;
}

/** Notifications a system handle can be waited on for (the rest are logged and dropped, as hcsshim does). */
export const systemNotifications: readonly NotificationType[] = [
  NotificationType.ServiceDisconnect,
  NotificationType.SystemExited,
  NotificationType.SystemCreateCompleted,
  NotificationType.SystemStartCompleted,
  NotificationType.SystemPauseCompleted,
  NotificationType.SystemResumeCompleted,
  NotificationType.SystemSaveCompleted,
];

/** Notifications a process handle can be waited on for. */
export const processNotifications: readonly NotificationType[] = [
  NotificationType.ServiceDisconnect,
  NotificationType.ProcessExited,
];
