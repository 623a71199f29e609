// Types of the CommonJS entry (src/js/index.cjs); the API itself is described in index.d.ts.
import type { LoadOptions, Model, Prediction, ClassifyOptions, ClassifyWithOwn } from './index.js' with { 'resolution-mode': 'import' };

/** The model and classify() result types, for annotating what load() gives (described in index.d.ts). */
export type { Model, Prediction, ClassifyOptions, ClassifyWithOwn };
/** Same as the ES module's load(). */
export declare function load(source?: string | URL, options?: LoadOptions): Promise<Model>;
/** The whole ES module API: `const { VitrineError } = await require('vitrine').esm()`. */
export declare function esm(): Promise<typeof import('./index.js', { with: { 'resolution-mode': 'import' } })>;
