// Types of the CommonJS entry of `vitrine/preload` (src/js/preload.cjs); described in preload.d.ts.
import type { PreloadOptions, PreloadInfo } from './preload.js' with { 'resolution-mode': 'import' };

/** Same as the ES module's preload(). */
export declare function preload(options?: PreloadOptions): Promise<PreloadInfo>;
