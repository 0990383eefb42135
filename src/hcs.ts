/**
 * `taskio/hcs`: Windows Host Compute Service compute systems and processes — hcsshim's `internal/hcs`
 * API in camelCase ({@link System}, {@link Process}, its errors and classifiers). The state machine is
 * pure TypeScript and runs anywhere over a {@link Transport}; the `computecore.dll` binding loads koffi
 * only on Windows and is **not verified on Windows**. Elsewhere every call fails with
 * `ErrPlatformNotSupported` (`code === 'ERR_PLATFORM_NOT_SUPPORTED'`).
 * @packageDocumentation
 */
export * from './runtime/hcs/index.js';
