import type * as Koffi from 'koffi';
import { loadNative } from '../../../sys/index.js';

/**
 * koffi for the Windows job object modules. They are imported only on Windows (and by the tests of the
 * struct layouts), so koffi loads with them and never at `import 'taskio'`; where it cannot be loaded,
 * importing them fails with `ERR_NATIVE_MODULE` naming koffi instead of a bare module-not-found.
 */
export const koffi = loadNative<typeof Koffi>('koffi', 'Windows job objects');
export type { IKoffiCType, TypeSpec } from 'koffi';
