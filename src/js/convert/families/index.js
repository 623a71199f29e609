// The converter's family modules: ./<name>.js for every family the engine knows (Module.familyNames(), from
// src/engine/families/registry.cpp — the one list of families). A module converts the checkpoints of its
// config.json model_types: HF names, config.json → architecture, classifier, processor defaults (see vit.js).
import { getRuntime } from '../../runtime.js';
import { convertError } from './common.js';

let loaded = null;

/** Every family module, in the engine's order. */
export function families() {
  if (!loaded) {
    loaded = (async () => {
      const { Module, lock } = await getRuntime('st', 1);
      const names = await lock.run(() => Module.familyNames());
      return Promise.all(names.map(async (name) => (await import(`./${name}.js`)).default));
    })();
    loaded.catch(() => { loaded = null; });
  }
  return loaded;
}

/** The family module converting a config.json model_type. */
export async function familyForModelType(modelType) {
  const all = await families();
  const f = all.find((x) => x.modelTypes.includes(modelType));
  if (!f) throw convertError(`config.json: model_type ${JSON.stringify(modelType)} is not supported (${all.flatMap((x) => x.modelTypes).join(', ')})`);
  return f;
}
